//! The yearly report files: a zip holding one comma-separated `.txt`.
//!
//! The files quote names that hold commas ("CRUDE OIL, LIGHT SWEET - ..."),
//! pad numbers with spaces, end lines with CRLF (2021) or LF (2025 legacy)
//! and write headers per family (see [`crate::fields`]).

use crate::family::Family;
use crate::fields::{Role, role};
use crate::record::{Filter, Parsed, Reject};
use std::io::{Cursor, Read};

/// Whether `bytes` is a zip archive (local file header signature).
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// The `.txt` inside a zip, or `bytes` itself when it is not a zip.
pub fn unzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if !is_zip(bytes) {
        return Ok(bytes.to_vec());
    }
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("not a readable zip: {e}"))?;
    let names: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .filter(|n| !n.ends_with('/'))
        .collect();
    let txt: Vec<&String> = names
        .iter()
        .filter(|n| n.to_ascii_lowercase().ends_with(".txt"))
        .collect();
    let name = match (txt.as_slice(), names.as_slice()) {
        ([one], _) => (*one).clone(),
        ([], [only]) => only.clone(),
        _ => {
            return Err(format!(
                "the zip should hold one .txt file, it holds {}",
                names.join(", ")
            ));
        }
    };
    let mut entry = archive
        .by_name(&name)
        .map_err(|e| format!("zip entry `{name}`: {e}"))?;
    let mut out = Vec::new();
    entry
        .read_to_end(&mut out)
        .map_err(|e| format!("zip entry `{name}` cannot be read: {e}"))?;
    Ok(out)
}

/// Reads a report `.txt` of `family`.
pub fn parse(family: Family, text: &[u8], filter: &Filter) -> Parsed {
    let mut parsed = Parsed::default();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut rows = reader.byte_records();
    let header: Vec<String> = match rows.next() {
        Some(Ok(h)) => h
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect(),
        Some(Err(e)) => {
            parsed.rejects.push(document_reject(format!(
                "the header line cannot be read: {e}"
            )));
            return parsed;
        }
        None => {
            parsed
                .rejects
                .push(document_reject("the file is empty".into()));
            return parsed;
        }
    };
    let roles: Vec<Role> = header.iter().map(|h| role(family, h)).collect();
    for need in [Role::ReportDate, Role::ContractCode] {
        if !roles.contains(&need) {
            parsed.rejects.push(document_reject(format!(
                "the header has no {} column; is this a {} file? header: {}",
                if need == Role::ReportDate {
                    "report date"
                } else {
                    "contract market code"
                },
                family.name(),
                header.join(",")
            )));
            return parsed;
        }
    }
    for row in rows {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line());
                parsed.rejects.push(Reject {
                    row_number: line,
                    reason: format!("the line cannot be read as CSV: {e}"),
                    ..Reject::default()
                });
                continue;
            }
        };
        let line = row.position().map_or(0, |p| p.line());
        let values: Vec<String> = row
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        if values.len() != header.len() {
            parsed.rejects.push(Reject {
                row_number: Some(line),
                record: Some(serde_json::Value::from(values.clone()).to_string()),
                reason: format!("{} fields, the header has {}", values.len(), header.len()),
                ..Reject::default()
            });
            continue;
        }
        let cells: Vec<(&str, Role, &str)> = header
            .iter()
            .zip(&roles)
            .zip(&values)
            .map(|((h, r), v)| (h.as_str(), *r, v.as_str()))
            .collect();
        parsed.read(filter, line, &cells);
    }
    parsed
}

fn document_reject(reason: String) -> Reject {
    Reject {
        reason,
        ..Reject::default()
    }
}
