//! Workbooks (xlsx, xlsm, xlsb, xls, ods) through `calamine`: one sheet,
//! every cell as text the way a person reads it (dates as ISO dates,
//! numbers without binary float noise).

use crate::config::ReadOptions;
use crate::parsed::{Parsed, Row};
use calamine::{Data, Reader, open_workbook_auto_from_rs};
use std::io::Cursor;

/// Reads workbook `bytes`. Never fails: an unreadable workbook or a missing
/// sheet becomes one problem.
pub fn read(bytes: &[u8], s: &ReadOptions) -> Parsed {
    let mut wb = match open_workbook_auto_from_rs(Cursor::new(bytes.to_vec())) {
        Ok(wb) => wb,
        Err(e) => return Parsed::unreadable(format!("not a readable workbook: {e}")),
    };
    let names = wb.sheet_names();
    let sheet = match &s.sheet {
        Some(want) if names.contains(want) => want.clone(),
        Some(want) => {
            return Parsed::unreadable(format!(
                "the workbook has no sheet `{want}` (sheets: {})",
                names.join(", ")
            ));
        }
        None => match names.first() {
            Some(first) => first.clone(),
            None => return Parsed::unreadable("the workbook has no sheets".into()),
        },
    };
    let range = match wb.worksheet_range(&sheet) {
        Ok(r) => r,
        Err(e) => return Parsed::unreadable(format!("sheet `{sheet}` cannot be read: {e}")),
    };
    let first_row = range.start().map_or(0, |(r, _)| u64::from(r));
    let mut out = Parsed::default();
    let mut have_header = false;
    for (i, cells) in range.rows().enumerate() {
        let number = first_row + i as u64 + 1;
        let values: Vec<Option<String>> = cells.iter().map(cell_text).collect();
        if !have_header {
            if number >= s.header_row && values.iter().any(Option::is_some) {
                out.header = values.into_iter().map(Option::unwrap_or_default).collect();
                have_header = true;
            }
            continue;
        }
        if values.iter().all(Option::is_none) {
            continue;
        }
        let text = values
            .iter()
            .map(|v| v.as_deref().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\t");
        out.rows.push(Row {
            number,
            values,
            text,
        });
    }
    out
}

/// A cell as text; `None` for an empty one.
pub fn cell_text(cell: &Data) -> Option<String> {
    match cell {
        Data::Empty => None,
        Data::String(s) if s.is_empty() => None,
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Some(s.clone()),
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) => Some(number_text(*f)),
        Data::Bool(b) => Some(b.to_string()),
        Data::Error(e) => Some(format!("#{e:?}")),
        Data::DateTime(d) => Some(if d.is_duration() {
            d.as_duration().map_or_else(
                || number_text(d.as_f64()),
                |t| {
                    let s = t.num_seconds();
                    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
                },
            )
        } else {
            d.as_datetime().map_or_else(
                || number_text(d.as_f64()),
                |t| {
                    if t.time() == chrono::NaiveTime::MIN {
                        t.format("%Y-%m-%d").to_string()
                    } else {
                        t.format("%Y-%m-%dT%H:%M:%S").to_string()
                    }
                },
            )
        }),
    }
}

/// A number as Excel shows it: rounded to 15 significant digits (Excel's
/// precision, so `0.1 + 0.2` is `0.3`), integers without `.0`.
pub fn number_text(f: f64) -> String {
    if !f.is_finite() {
        return format!("{f}");
    }
    let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_no_float_noise() {
        assert_eq!(number_text(42.0), "42");
        assert_eq!(number_text(-3.0), "-3");
        assert_eq!(number_text(0.1), "0.1");
        assert_eq!(number_text(0.1 + 0.2), "0.3");
        assert_eq!(number_text(0.606290672451193), "0.606290672451193");
        assert_eq!(number_text(1234.5), "1234.5");
        assert_eq!(cell_text(&Data::Empty), None);
        assert_eq!(cell_text(&Data::Bool(true)), Some("true".into()));
    }
}
