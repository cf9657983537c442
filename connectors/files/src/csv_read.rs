//! CSV files: decoded (UTF-8 or cp1252), split with the `csv` crate, and
//! checked row by row against the header's width.

use crate::config::{Encoding, ReadOptions};
use crate::parsed::{Parsed, Problem, Row};

/// Reads CSV `bytes`. Never fails: what cannot be read becomes problems.
pub fn read(bytes: &[u8], s: &ReadOptions) -> Parsed {
    let text = match decode(bytes, s.encoding) {
        Ok(t) => t,
        Err(reason) => return undecodable(bytes, &reason),
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(s.delimiter)
        .from_reader(text.as_bytes());
    let mut out = Parsed::default();
    let mut header: Option<u64> = None;
    let mut record = csv::StringRecord::new();
    loop {
        let start = clamp(rdr.position().byte(), text.len());
        let line = rdr.position().line();
        match rdr.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                out.problems.push(Problem {
                    number: line,
                    text: text
                        .get(start..)
                        .and_then(|t| t.lines().next())
                        .unwrap_or("")
                        .to_string(),
                    reason: format!("row {line}: cannot be read as CSV: {e}"),
                });
                break;
            }
        }
        let end = clamp(rdr.position().byte(), text.len());
        // The reader skips blank lines but reports the record where it
        // started reading, so the blank lines are counted off here.
        let span = text.get(start..end).unwrap_or("");
        let body = span.trim_start_matches(['\r', '\n']);
        let number = line + span[..span.len() - body.len()].matches('\n').count() as u64;
        let raw = body.trim_end_matches(['\r', '\n']);
        let fields: Vec<&str> = record.iter().collect();
        match header {
            None if number < s.header_row => {}
            None => {
                out.header = fields.iter().map(|f| f.to_string()).collect();
                header = Some(number);
            }
            Some(h) => {
                if fields.iter().all(|f| f.trim().is_empty()) {
                    continue;
                }
                if fields.len() != out.header.len() {
                    out.problems.push(Problem {
                        number,
                        text: raw.to_string(),
                        reason: format!(
                            "row {number}: {} fields, the header (row {h}) has {}",
                            fields.len(),
                            out.header.len()
                        ),
                    });
                    continue;
                }
                out.rows.push(Row {
                    number,
                    values: fields
                        .iter()
                        .map(|f| (!f.is_empty()).then(|| f.to_string()))
                        .collect(),
                    text: raw.to_string(),
                });
            }
        }
    }
    out
}

fn clamp(pos: u64, len: usize) -> usize {
    usize::try_from(pos).map_or(len, |p| p.min(len))
}

/// The file's text, or why it is not in `encoding`.
pub fn decode(bytes: &[u8], encoding: Encoding) -> Result<String, String> {
    match encoding {
        Encoding::Utf8 => {
            let b = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
            std::str::from_utf8(b).map(str::to_string).map_err(|e| {
                let at = e.valid_up_to();
                let line = b[..at].iter().filter(|c| **c == b'\n').count() + 1;
                format!(
                    "not valid UTF-8 (line {line}, byte {at}); if the file comes from Excel on Windows, set encoding = \"cp1252\""
                )
            })
        }
        Encoding::Cp1252 => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            Ok(text.into_owned())
        }
    }
}

/// Every line of a file in the wrong encoding, shown lossily, as a problem.
fn undecodable(bytes: &[u8], reason: &str) -> Parsed {
    let text = String::from_utf8_lossy(bytes);
    let problems = text
        .lines()
        .enumerate()
        .map(|(i, l)| Problem {
            number: i as u64 + 1,
            text: l.to_string(),
            reason: reason.to_string(),
        })
        .collect::<Vec<_>>();
    if problems.is_empty() {
        return Parsed::unreadable(reason.to_string());
    }
    Parsed {
        problems,
        ..Parsed::default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::{FilesOptions, Settings};

    fn settings(extra: &str) -> ReadOptions {
        let o: FilesOptions = serde_json::from_str(&format!(
            r#"{{"folder": "/x", "datasets": {{"d": "*.csv"}} {extra}}}"#
        ))
        .unwrap();
        Settings::new(o).unwrap().datasets[0].read.clone()
    }

    #[test]
    fn rows_keep_numbers_text_and_nulls() {
        let p = read(
            b"\xef\xbb\xbfid,name,city\r\n1,\"Doe, J\",\r\n\r\n,,\n2,Smith,Oslo\n",
            &settings(""),
        );
        assert_eq!(p.header, vec!["id", "name", "city"]);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.rows.len(), 2);
        assert_eq!(p.rows[0].number, 2);
        assert_eq!(
            p.rows[0].values,
            vec![Some("1".into()), Some("Doe, J".into()), None]
        );
        assert_eq!(p.rows[0].text, "1,\"Doe, J\",");
        assert_eq!(p.rows[1].number, 5);
    }

    #[test]
    fn ragged_rows_are_problems_with_their_row() {
        let p = read(b"a;b\n1;2\n3;4;5\n", &settings(r#", "delimiter": ";""#));
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.problems.len(), 1);
        assert_eq!(p.problems[0].number, 3);
        assert_eq!(p.problems[0].text, "3;4;5");
        assert!(
            p.problems[0].reason.contains("3 fields"),
            "{:?}",
            p.problems
        );
    }

    #[test]
    fn encodings_decode_or_say_why() {
        let latin = b"name\nJos\xe9\n";
        let p = read(latin, &settings(r#", "encoding": "cp1252""#));
        assert_eq!(p.rows[0].values, vec![Some("José".into())]);
        let p = read(latin, &settings(""));
        assert!(p.rows.is_empty());
        assert_eq!(p.problems.len(), 2);
        assert!(p.problems[1].reason.contains("line 2"), "{:?}", p.problems);
        assert!(p.problems[1].text.starts_with("Jos"));
    }

    #[test]
    fn title_rows_above_the_header_are_skipped() {
        let p = read(b"Report\n\nx,y\n1,2\n", &settings(r#", "header_row": 3"#));
        assert_eq!(p.header, vec!["x", "y"]);
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.rows[0].number, 4);
    }
}
