//! The report as an Office Open XML workbook (ECMA-376 Part 1,
//! SpreadsheetML): the minimal parts — content types, package and
//! workbook relationships, workbook, styles, one worksheet per grouping —
//! in a ZIP written by [`crate::zip::ZipWriter`]. Labels are inline
//! strings (§18.3.1.53, no shared-string table), counts are numbers, and
//! the first row of each sheet is its header.

use super::{Grouping, Report};
use crate::error::RaError;
use crate::zip::ZipWriter;

/// Text as XML character data: escaped, and without the control
/// characters XML 1.0 forbids (§2.2).
fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn string_cell(reference: &str, text: &str) -> String {
    format!(
        "<c r=\"{reference}\" t=\"inlineStr\"><is><t xml:space=\"preserve\">{}</t></is></c>",
        xml_text(text)
    )
}

fn sheet_xml(grouping: Grouping, rows: &[super::ReportRow]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">\
         <cols><col min=\"1\" max=\"1\" width=\"40\" customWidth=\"1\"/>\
         <col min=\"2\" max=\"2\" width=\"14\" customWidth=\"1\"/></cols><sheetData>",
    );
    out.push_str(&format!(
        "<row r=\"1\">{}{}</row>",
        string_cell("A1", grouping.label_header()),
        string_cell("B1", "certificates")
    ));
    for (i, r) in rows.iter().enumerate() {
        let n = i + 2;
        out.push_str(&format!(
            "<row r=\"{n}\">{}<c r=\"B{n}\"><v>{}</v></c></row>",
            string_cell(&format!("A{n}"), &r.label),
            r.count
        ));
    }
    out.push_str("</sheetData></worksheet>");
    out
}

/// The workbook bytes.
pub(super) fn workbook(report: &Report) -> Result<Vec<u8>, RaError> {
    let sheets: Vec<(usize, Grouping)> = report
        .sections
        .iter()
        .map(|s| s.grouping)
        .enumerate()
        .map(|(i, g)| (i + 1, g))
        .collect();
    let mut types = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
         <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
         <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
         <Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
         <Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>",
    );
    let mut book = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
         xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheets>",
    );
    let mut rels = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">",
    );
    for (i, g) in &sheets {
        types.push_str(&format!(
            "<Override PartName=\"/xl/worksheets/sheet{i}.xml\" \
             ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
        ));
        book.push_str(&format!(
            "<sheet name=\"{}\" sheetId=\"{i}\" r:id=\"rId{i}\"/>",
            xml_text(g.sheet())
        ));
        rels.push_str(&format!(
            "<Relationship Id=\"rId{i}\" \
             Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" \
             Target=\"worksheets/sheet{i}.xml\"/>"
        ));
    }
    let styles_id = sheets.len() + 1;
    rels.push_str(&format!(
        "<Relationship Id=\"rId{styles_id}\" \
         Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" \
         Target=\"styles.xml\"/></Relationships>"
    ));
    types.push_str("</Types>");
    book.push_str("</sheets></workbook>");
    let package_rels = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
         <Relationship Id=\"rId1\" \
         Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" \
         Target=\"xl/workbook.xml\"/></Relationships>";
    let styles = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">\
         <fonts count=\"1\"><font><sz val=\"11\"/><name val=\"Calibri\"/></font></fonts>\
         <fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill>\
         <fill><patternFill patternType=\"gray125\"/></fill></fills>\
         <borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
         <cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>\
         <cellXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/></cellXfs>\
         <cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>\
         </styleSheet>";
    let mut zip = ZipWriter::default();
    zip.add("[Content_Types].xml", types.as_bytes())?;
    zip.add("_rels/.rels", package_rels.as_bytes())?;
    zip.add("xl/workbook.xml", book.as_bytes())?;
    zip.add("xl/_rels/workbook.xml.rels", rels.as_bytes())?;
    zip.add("xl/styles.xml", styles.as_bytes())?;
    for ((i, _), section) in sheets.iter().zip(&report.sections) {
        zip.add(
            &format!("xl/worksheets/sheet{i}.xml"),
            sheet_xml(section.grouping, &section.rows).as_bytes(),
        )?;
    }
    zip.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_control_characters_dropped() {
        assert_eq!(xml_text("a<b>&\"c\u{1}"), "a&lt;b&gt;&amp;&quot;c");
        assert_eq!(xml_text("研发部"), "研发部");
    }
}
