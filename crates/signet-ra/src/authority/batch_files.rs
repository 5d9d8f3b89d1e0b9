//! Uploaded batch files turned into rows: JSON lines (pasted or uploaded
//! as a `.jsonl` file), or a ZIP holding `manifest.csv` and the CSR files
//! it names. Parsing only: whether a row's profile, CSR, subject and SANs
//! are acceptable is decided by [`super::batches`] for every format alike,
//! so a row is named by its line number the same way whatever the format.
//!
//! A ZIP comes from outside and is unpacked in memory, so it is treated
//! as hostile: every entry name is checked before anything is read (no
//! `..`, no absolute paths), the number of entries is bounded, and the
//! bytes actually inflated (not the sizes the archive declares) are
//! counted against a limit, which stops a zip bomb early.

use std::collections::HashMap;
use std::io::{Cursor, Read as _};

use super::batches::BatchLine;
use crate::error::RaError;

/// The manifest's name at the root of a batch ZIP.
pub(crate) const MANIFEST: &str = "manifest.csv";

/// The manifest's columns, in any order; all four must be there.
const COLUMNS: [&str; 4] = ["profile", "subject", "sans", "csr"];

/// A batch file as the officer sent it.
#[derive(Debug)]
pub enum BatchUpload {
    /// JSON lines: one `{"profile": .., "csr": ..}` object per line.
    JsonLines(String),
    /// A ZIP of `manifest.csv` and CSR files.
    Zip(Vec<u8>),
}

impl BatchUpload {
    /// Classifies an uploaded file by its name and first bytes: a ZIP by
    /// the `.zip` extension or its local-header signature (APPNOTE
    /// §4.3.7, `PK\x03\x04`), anything else as JSON lines, which must be
    /// UTF-8.
    pub fn from_file(name: &str, bytes: Vec<u8>) -> Result<Self, RaError> {
        if name.to_ascii_lowercase().ends_with(".zip") || bytes.starts_with(b"PK\x03\x04") {
            return Ok(Self::Zip(bytes));
        }
        String::from_utf8(bytes)
            .map(Self::JsonLines)
            .map_err(|_| invalid("error.batch_file_encoding"))
    }
}

/// How much a batch ZIP may hold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ZipLimits {
    /// Entries in the archive, directories included.
    pub max_entries: usize,
    /// Bytes of all entries once inflated.
    pub max_unpacked_bytes: u64,
}

/// One row of a batch file: its line number (from 1) and either the
/// parsed row or the translation key of why it could not be parsed.
pub(crate) struct Row {
    pub line: usize,
    pub parsed: Result<BatchLine, &'static str>,
}

fn invalid(key: &'static str) -> RaError {
    RaError::Invalid { field: "file", key }
}

/// The non-blank lines of a JSON-lines file, numbered from 1 as an
/// editor numbers them.
pub(crate) fn json_rows(file: &str) -> Vec<Row> {
    file.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .map(|(line, text)| Row {
            line,
            parsed: serde_json::from_str(text).map_err(|_| "error.batch_line"),
        })
        .collect()
}

/// Every file of the archive by name, after the checks in the module
/// documentation. Directories are skipped.
fn unpack(data: &[u8], limits: ZipLimits) -> Result<HashMap<String, Vec<u8>>, RaError> {
    let mut archive = ::zip::ZipArchive::new(Cursor::new(data))
        .map_err(|_| invalid("error.batch_zip_unreadable"))?;
    if archive.len() > limits.max_entries {
        return Err(invalid("error.batch_zip_too_many_entries"));
    }
    // Names first, so that an escaping entry refuses the file before a
    // single byte is inflated.
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|_| invalid("error.batch_zip_unreadable"))?;
        if entry.enclosed_name().is_none() || entry.name().contains('\\') {
            return Err(invalid("error.batch_zip_unsafe_name"));
        }
    }
    let mut files = HashMap::new();
    let mut budget = limits.max_unpacked_bytes;
    for i in 0..archive.len() {
        let entry = archive
            .by_index(i)
            .map_err(|_| invalid("error.batch_zip_unreadable"))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_owned();
        let mut bytes = Vec::new();
        // Read one byte past the budget: reaching it means too large,
        // whatever size the entry declares.
        entry
            .take(budget.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|_| invalid("error.batch_zip_unreadable"))?;
        let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if read > budget {
            return Err(invalid("error.batch_zip_too_large"));
        }
        budget -= read;
        if files.insert(name, bytes).is_some() {
            return Err(invalid("error.batch_zip_duplicate_name"));
        }
    }
    Ok(files)
}

/// The rows of a batch ZIP. The manifest's header is line 1, so its first
/// row is line 2, the number a spreadsheet shows.
pub(crate) fn zip_rows(data: &[u8], limits: ZipLimits) -> Result<Vec<Row>, RaError> {
    let files = unpack(data, limits)?;
    let manifest = files
        .get(MANIFEST)
        .ok_or_else(|| invalid("error.batch_manifest_missing"))?;
    // Spreadsheets save CSV with a UTF-8 byte order mark; it is no part
    // of the first column's name.
    let manifest = manifest
        .strip_prefix(b"\xef\xbb\xbf".as_slice())
        .unwrap_or(manifest);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(manifest);
    let header = reader
        .headers()
        .map_err(|_| invalid("error.batch_manifest_header"))?
        .clone();
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(profile), Some(subject), Some(sans), Some(csr)) = (
        column(COLUMNS[0]),
        column(COLUMNS[1]),
        column(COLUMNS[2]),
        column(COLUMNS[3]),
    ) else {
        return Err(invalid("error.batch_manifest_header"));
    };
    if header.len() != COLUMNS.len() {
        return Err(invalid("error.batch_manifest_header"));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                // Not UTF-8, say: the row is named, the others still read.
                let Some(start) = e.position().map(csv::Position::byte) else {
                    return Err(invalid("error.batch_zip_unreadable"));
                };
                rows.push(Row {
                    line: line_at(manifest, start),
                    parsed: Err("error.batch_csv_row"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| line_at(manifest, p.byte()));
        if record.iter().all(str::is_empty) {
            continue;
        }
        let parsed = if record.len() == COLUMNS.len() {
            manifest_row(&record, [profile, subject, sans, csr], &files)
        } else {
            Err("error.batch_csv_row")
        };
        rows.push(Row { line, parsed });
    }
    Ok(rows)
}

/// The line (from 1) of the record starting at byte `start`. The csv
/// crate counts blank lines before a record as part of it, so its own
/// line number would name the blank line: count to the first byte that
/// is not a line break instead.
fn line_at(text: &[u8], start: u64) -> usize {
    let start = usize::try_from(start).unwrap_or(usize::MAX).min(text.len());
    let before = text.get(..start).unwrap_or_default();
    let rest = text.get(start..).unwrap_or_default();
    let breaks = rest
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .filter(|b| **b == b'\n')
        .count();
    1 + before.iter().filter(|b| **b == b'\n').count() + breaks
}

/// One manifest row as a [`BatchLine`]; `at` holds the positions of the
/// profile, subject, sans and csr columns.
fn manifest_row(
    record: &csv::StringRecord,
    at: [usize; 4],
    files: &HashMap<String, Vec<u8>>,
) -> Result<BatchLine, &'static str> {
    let field = |i: usize| record.get(i).unwrap_or_default();
    let [profile, subject, sans, csr] = at.map(field);
    if profile.is_empty() || csr.is_empty() {
        return Err("error.batch_csv_row");
    }
    if csr == MANIFEST {
        return Err("error.batch_csr_file_missing");
    }
    let pem = files.get(csr).ok_or("error.batch_csr_file_missing")?;
    let pem = String::from_utf8(pem.clone()).map_err(|_| "error.invalid_csr")?;
    let sans = if sans.is_empty() {
        None
    } else {
        Some(sans.split(';').map(|s| s.trim().to_owned()).collect())
    };
    Ok(BatchLine {
        profile: profile.to_owned(),
        csr: pem,
        subject: (!subject.is_empty()).then(|| subject.to_owned()),
        sans,
    })
}

#[cfg(test)]
mod tests;
