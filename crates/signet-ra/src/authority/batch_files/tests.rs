use std::io::Write as _;

use super::*;

const LIMITS: ZipLimits = ZipLimits {
    max_entries: 10,
    max_unpacked_bytes: 64 * 1024,
};

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let options = ::zip::write::SimpleFileOptions::default()
        .compression_method(::zip::CompressionMethod::Deflated);
    let mut w = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in entries {
        w.start_file(*name, options).unwrap();
        w.write_all(content).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn key(e: RaError) -> &'static str {
    match e {
        RaError::Invalid { key, .. } => key,
        other => panic!("{other:?}"),
    }
}

#[test]
fn manifest_rows_keep_their_csv_line_numbers_and_quoted_commas() {
    // With the byte order mark a spreadsheet writes, columns in another
    // order, a blank line, a short row and a row without a profile.
    let manifest = "\u{feff}csr,profile,sans,subject\n\
        a.csr,server,DNS:a.example;IP:10.0.0.1,\"CN=a.example,O=Example\"\n\
        \n\
        missing.csr,server,,\n\
        a.csr,server\n\
        a.csr,,,\n";
    let zip = zip_of(&[("manifest.csv", manifest.as_bytes()), ("a.csr", b"PEM")]);
    let rows = zip_rows(&zip, LIMITS).unwrap();
    let lines: Vec<usize> = rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, [2, 4, 5, 6]);
    let first = rows[0].parsed.as_ref().unwrap();
    assert_eq!(first.profile, "server");
    assert_eq!(first.csr, "PEM");
    assert_eq!(first.subject.as_deref(), Some("CN=a.example,O=Example"));
    assert_eq!(
        first.sans.as_deref(),
        Some(&["DNS:a.example".to_owned(), "IP:10.0.0.1".to_owned()][..])
    );
    assert_eq!(
        rows[1].parsed.as_ref().err(),
        Some(&"error.batch_csr_file_missing")
    );
    assert_eq!(rows[2].parsed.as_ref().err(), Some(&"error.batch_csv_row"));
    assert_eq!(rows[3].parsed.as_ref().err(), Some(&"error.batch_csv_row"));
}

#[test]
fn a_zip_without_manifest_with_a_wrong_header_or_too_many_entries_is_refused() {
    let zip = zip_of(&[("a.csr", b"PEM")]);
    assert_eq!(
        key(zip_rows(&zip, LIMITS).err().unwrap()),
        "error.batch_manifest_missing"
    );
    let zip = zip_of(&[("manifest.csv", b"profile,csr\nserver,a.csr\n")]);
    assert_eq!(
        key(zip_rows(&zip, LIMITS).err().unwrap()),
        "error.batch_manifest_header"
    );
    let names: Vec<String> = (0..11).map(|i| format!("{i}.csr")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let zip = zip_of(&entries);
    assert_eq!(
        key(zip_rows(&zip, LIMITS).err().unwrap()),
        "error.batch_zip_too_many_entries"
    );
    assert_eq!(
        key(zip_rows(b"PK\x03\x04 not really", LIMITS).err().unwrap()),
        "error.batch_zip_unreadable"
    );
}

#[test]
fn uploaded_files_are_told_apart_by_name_and_signature() {
    assert!(matches!(
        BatchUpload::from_file("rows.jsonl", b"{}".to_vec()),
        Ok(BatchUpload::JsonLines(_))
    ));
    assert!(matches!(
        BatchUpload::from_file("BATCH.ZIP", b"x".to_vec()),
        Ok(BatchUpload::Zip(_))
    ));
    assert!(matches!(
        BatchUpload::from_file("rows", b"PK\x03\x04".to_vec()),
        Ok(BatchUpload::Zip(_))
    ));
    assert_eq!(
        key(BatchUpload::from_file("rows.jsonl", vec![0xff, 0xfe])
            .err()
            .unwrap()),
        "error.batch_file_encoding"
    );
}

#[test]
fn json_lines_are_numbered_as_an_editor_numbers_them() {
    let rows = json_rows("\n{\"profile\":\"p\",\"csr\":\"c\"}\n\nnot json\n");
    let lines: Vec<usize> = rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, [2, 4]);
    assert!(rows[0].parsed.is_ok());
    assert_eq!(rows[1].parsed.as_ref().err(), Some(&"error.batch_line"));
}
