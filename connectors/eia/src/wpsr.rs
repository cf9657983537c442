//! The WPSR tables EIA posts as CSV on ir.eia.gov (`table1.csv`, ...).
//!
//! What the real files look like (see shared/data/real/MANIFEST.md 1b):
//! Windows-1252 text, CRLF (one release LF), a DOS end-of-file byte 0x1A at
//! the end, every cell quoted, thousands separators, trailing spaces in the
//! stub columns, and two tables stacked in one file, each after its own
//! header line starting with `STUB_1`:
//!
//! * stocks, one stub column, in million barrels:
//!   `STUB_1, 6/5/26, 5/29/26, Difference, Percent Change, 6/6/25, Difference, Percent Change`
//! * supply and disposition, two stub columns, in thousand barrels per day:
//!   `STUB_1, STUB_2, 6/5/26, 5/29/26, Difference, 6/6/25, Difference,
//!   6/5/26, 6/6/25, Percent Change, 6/5/26, 6/6/25, Percent Change`
//!   (this week, last week, year ago, then four-week averages, then year to date).
//!
//! What becomes a row: the column headed by the block's latest date (the
//! week ending, first occurrence: later columns with the same date are
//! averages) gives the current week, and the column headed by the date seven
//! days earlier gives the previous week with its own `reference_period`, so
//! a revision of last week's number upserts the row the previous release
//! wrote (same `release_time`). Year-ago, difference, percent, four-week and
//! year-to-date columns are derived or already loaded and are not rows. The
//! en-dash (0x96) cells mean "not applicable": skipped and counted.
//!
//! `release_field` is the EIA series id for the lines that have one in the
//! API ([`series_id`]), so the warehouse compares the two source systems
//! line by line, and otherwise `<table>.<block>.<line label>` in lower
//! snake case (line numbers dropped: EIA renumbers lines and numbers two
//! lines "(33)"). Values are never converted: stocks here are
//! `1000000_barrels` where the API gives the same series in `1000_barrels`.

use crate::api::{PUBLISHER, edition_content};
use crate::rows::{Edition, Number, Reject};
use crate::values::{Cell, parse_text};
use chrono::{Duration, NaiveDate};
use qdp_sdk::calendar::ReleaseCalendar;
use std::collections::BTreeSet;

/// Release code of the WPSR rows.
pub const RELEASE_CODE: &str = "EIA-WPSR";
/// Unit of the stocks block.
pub const STOCKS_UNIT: &str = "1000000_barrels";
/// Unit of the supply and disposition block.
pub const FLOWS_UNIT: &str = "1000_barrels_per_day";

/// The EIA series id of a table 1 line, for lines the API carries too.
///
/// | block | line | series |
/// |---|---|---|
/// | stocks | Crude Oil | WCRSTUS1 |
/// | stocks | Commercial (Excluding SPR) | WCESTUS1 |
/// | stocks | Strategic Petroleum Reserve (SPR) | WCSSTUS1 |
/// | stocks | Total Motor Gasoline | WGTSTUS1 |
/// | stocks | Kerosene-Type Jet Fuel | WKJSTUS1 |
/// | stocks | Distillate Fuel Oil | WDISTUS1 |
/// | stocks | Residual Fuel Oil | WRESTUS1 |
/// | stocks | Total Stocks (Including SPR) | WTTSTUS1 |
/// | crude_oil_supply | Domestic Production | WCRFPUS2 |
/// | crude_oil_supply | Net Imports (Including SPR) | WCRNTUS2 |
/// | crude_oil_supply | Imports | WCRIMUS2 |
/// | crude_oil_supply | Exports | WCREXUS2 |
/// | crude_oil_supply | Crude Oil Input to Refineries | WCRRIUS2 |
/// | products_supplied | Total | WRPUPUS2 |
/// | products_supplied | Finished Motor Gasoline | WGFUPUS2 |
/// | products_supplied | Kerosene-Type Jet Fuel | WKJUPUS2 |
/// | products_supplied | Distillate Fuel Oil | WDIUPUS2 |
/// | products_supplied | Residual Fuel Oil | WREUPUS2 |
/// | products_supplied | Propane/Propylene | WPRUP_NUS_2 |
/// | products_supplied | Other Oils | WWOUP_NUS_2 |
pub fn series_id(table: &str, block: &str, label: &str) -> Option<&'static str> {
    if table != "table1" {
        return None;
    }
    Some(match (block, label) {
        ("stocks", "Crude Oil") => "WCRSTUS1",
        ("stocks", "Commercial (Excluding SPR)") => "WCESTUS1",
        ("stocks", "Strategic Petroleum Reserve (SPR)") => "WCSSTUS1",
        ("stocks", "Total Motor Gasoline") => "WGTSTUS1",
        ("stocks", "Kerosene-Type Jet Fuel") => "WKJSTUS1",
        ("stocks", "Distillate Fuel Oil") => "WDISTUS1",
        ("stocks", "Residual Fuel Oil") => "WRESTUS1",
        ("stocks", "Total Stocks (Including SPR)") => "WTTSTUS1",
        ("crude_oil_supply", "Domestic Production") => "WCRFPUS2",
        ("crude_oil_supply", "Net Imports (Including SPR)") => "WCRNTUS2",
        ("crude_oil_supply", "Imports") => "WCRIMUS2",
        ("crude_oil_supply", "Exports") => "WCREXUS2",
        ("crude_oil_supply", "Crude Oil Input to Refineries") => "WCRRIUS2",
        ("products_supplied", "Total") => "WRPUPUS2",
        ("products_supplied", "Finished Motor Gasoline") => "WGFUPUS2",
        ("products_supplied", "Kerosene-Type Jet Fuel") => "WKJUPUS2",
        ("products_supplied", "Distillate Fuel Oil") => "WDIUPUS2",
        ("products_supplied", "Residual Fuel Oil") => "WREUPUS2",
        ("products_supplied", "Propane/Propylene") => "WPRUP_NUS_2",
        ("products_supplied", "Other Oils") => "WWOUP_NUS_2",
        _ => return None,
    })
}

/// Lower snake case of a label: `Crude Oil Supply ` → `crude_oil_supply`.
pub fn slug(label: &str) -> String {
    let mut out = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// `(13)   Stock Change (+/build; -/draw)` → `Stock Change (+/build; -/draw)`.
fn strip_line_number(label: &str) -> String {
    let t = label.trim();
    let rest = match t.strip_prefix('(') {
        Some(r) => match r.split_once(')') {
            Some((n, rest)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => rest,
            _ => t,
        },
        None => t,
    };
    rest.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What names a data line: its block, its label and its `release_field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineKey {
    /// `stocks` in the one-stub block, else the first stub in snake case.
    pub block: String,
    /// The last stub without its line number.
    pub label: String,
    /// The EIA series id, or `<table>.<block>.<label in snake case>`.
    pub field: String,
}

/// The key of a data line of `table` under a header with `stubs` (≥ 1)
/// stub columns.
pub fn line_key(table: &str, stubs: usize, cells: &[String]) -> LineKey {
    let stub = |i: usize| cells.get(i).map(String::as_str).unwrap_or_default();
    let label = strip_line_number(stub(stubs.saturating_sub(1)));
    let block = if stubs <= 1 {
        "stocks".to_string()
    } else {
        slug(stub(0))
    };
    let field = series_id(table, &block, &label)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{table}.{block}.{}", slug(&label)));
    LineKey {
        block,
        label,
        field,
    }
}

/// `6/5/26` → 2026-06-05.
pub fn header_date(text: &str) -> Option<NaiveDate> {
    let mut it = text.trim().split('/');
    let (m, d, y) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let y: i32 = y.parse().ok()?;
    let y = if y < 100 { 2000 + y } else { y };
    NaiveDate::from_ymd_opt(y, m.parse().ok()?, d.parse().ok()?)
}

/// What a table file holds.
#[derive(Debug, Default)]
pub struct Table {
    /// Readable numbers.
    pub numbers: Vec<Number>,
    /// Lines or cells that could not be read.
    pub rejects: Vec<Reject>,
    /// Cells published as not applicable (en-dash) in the columns read.
    pub not_available: usize,
    /// One edition per week ending the file is about.
    pub editions: Vec<Edition>,
}

struct Header {
    stubs: usize,
    width: usize,
    unit: &'static str,
    /// (column, week ending) of the current and the previous week.
    columns: Vec<(usize, NaiveDate)>,
}

fn header(cells: &[String]) -> Option<Header> {
    let stubs = cells
        .iter()
        .take_while(|c| c.trim().starts_with("STUB_"))
        .count();
    let dates: Vec<(usize, NaiveDate)> = cells
        .iter()
        .enumerate()
        .skip(stubs)
        .filter_map(|(i, c)| header_date(c).map(|d| (i, d)))
        .collect();
    let current = dates.iter().map(|(_, d)| *d).max()?;
    let mut columns = Vec::new();
    for want in [current, current - Duration::days(7)] {
        if let Some((i, d)) = dates.iter().find(|(_, d)| *d == want) {
            columns.push((*i, *d));
        }
    }
    Some(Header {
        stubs,
        width: cells.len(),
        unit: if stubs <= 1 { STOCKS_UNIT } else { FLOWS_UNIT },
        columns,
    })
}

/// The table name of a URL or file name: `.../wpsr/table1.csv` → `table1`.
pub fn table_name(object: &str) -> String {
    let file = object.rsplit('/').next().unwrap_or(object);
    let file = file.split(['?', '#']).next().unwrap_or(file);
    slug(file.strip_suffix(".csv").unwrap_or(file))
}

/// EIA ends every table file with the DOS end-of-file byte 0x1A: a body
/// without it was cut short on the way (or half-written at the publisher)
/// and is fetched again rather than loaded with lines missing.
pub fn check_complete(body: &[u8]) -> Result<(), String> {
    let end = body
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map(|i| body[i]);
    if end == Some(0x1a) {
        Ok(())
    } else {
        Err(format!(
            "the table ends without the end-of-file byte 0x1A EIA puts after every table ({} bytes received); set `end_marker = false` if the publisher stopped writing it",
            body.len()
        ))
    }
}

/// Reads one table file as published (cp1252 bytes).
pub fn parse(bytes: &[u8], object: &str) -> Table {
    let table = table_name(object);
    let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
    let mut out = Table::default();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut head: Option<Header> = None;
    let mut seen: BTreeSet<(String, NaiveDate)> = BTreeSet::new();
    let mut weeks: BTreeSet<NaiveDate> = BTreeSet::new();
    let reject = |line: u64, reason: String| Reject {
        publisher: Some(PUBLISHER.into()),
        release_code: Some(RELEASE_CODE.into()),
        reason: format!("{object} line {line}: {reason}"),
        ..Reject::default()
    };
    for (i, record) in reader.records().enumerate() {
        // The line in the file, counted from the record's byte offset.
        let line = record
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            // csv reports the start of a CRLF record one byte early, on the
            // `\n` before it: count through the byte it names.
            .and_then(|p| text.as_bytes().get(..=p.byte() as usize))
            .map(|before| before.iter().filter(|b| **b == b'\n').count() as u64 + 1)
            .unwrap_or(i as u64 + 1);
        let cells: Vec<String> = match record {
            Ok(r) => r.iter().map(str::to_string).collect(),
            Err(e) => {
                out.rejects.push(reject(line, format!("not CSV: {e}")));
                continue;
            }
        };
        // The DOS end-of-file byte and blank lines are not lines of the table.
        if cells
            .iter()
            .all(|c| c.trim_matches(['\u{1a}', ' ', '\t']).is_empty())
        {
            continue;
        }
        if cells.first().is_some_and(|c| c.trim() == "STUB_1") {
            match header(&cells) {
                Some(h) => {
                    weeks.extend(h.columns.first().map(|(_, d)| *d));
                    head = Some(h);
                }
                None => {
                    head = None;
                    out.rejects.push(reject(
                        line,
                        format!("a header with no week dates: {}", cells.join(",")),
                    ));
                }
            }
            continue;
        }
        let Some(h) = &head else {
            out.rejects.push(reject(
                line,
                format!("a line before any dated header: {}", cells.join(",")),
            ));
            continue;
        };
        let mut r = reject(line, String::new());
        if cells.len() != h.width || h.stubs == 0 {
            r.reason = format!(
                "{object} line {line}: {} cells where the header has {}: {}",
                cells.len(),
                h.width,
                cells.join(",")
            );
            out.rejects.push(r);
            continue;
        }
        let LineKey {
            block,
            label,
            field,
        } = line_key(&table, h.stubs, &cells);
        r.release_field = Some(field.clone());
        r.unit = Some(h.unit.to_string());
        for (col, week) in &h.columns {
            let release_time = ReleaseCalendar::EiaWpsr.release_time(*week);
            let reference_period = week.format("%Y-%m-%d").to_string();
            let mut bad = r.clone();
            bad.reference_period = Some(reference_period.clone());
            bad.release_time = Some(release_time.to_rfc3339());
            bad.value = Some(cells[*col].clone());
            if !seen.insert((field.clone(), *week)) {
                bad.reason = format!(
                    "{object} line {line}: a second line `{label}` in block `{block}` for {reference_period}"
                );
                out.rejects.push(bad);
                continue;
            }
            match parse_text(&cells[*col]) {
                Cell::Number(v) => out.numbers.push(Number {
                    publisher: PUBLISHER.into(),
                    release_code: RELEASE_CODE.into(),
                    release_time_ns: release_time.timestamp_nanos_opt().unwrap_or_default(),
                    release_field: field.clone(),
                    value: v,
                    unit: h.unit.to_string(),
                    reference_period,
                }),
                Cell::NotAvailable => out.not_available += 1,
                Cell::Malformed(t) => {
                    bad.reason = format!("{object} line {line}: `{t}` is not a number");
                    out.rejects.push(bad);
                }
            }
        }
    }
    for week in weeks {
        let period = week.format("%Y-%m-%d").to_string();
        out.editions.push(Edition {
            publisher: PUBLISHER.into(),
            release_code: RELEASE_CODE.into(),
            frequency: "weekly".into(),
            release_time_ns: ReleaseCalendar::EiaWpsr
                .release_time(week)
                .timestamp_nanos_opt(),
            content: edition_content(RELEASE_CODE, &table, "weekly", &period),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_slugs_and_dates() {
        assert_eq!(
            strip_line_number("(13)   Stock Change (+/build; -/draw)"),
            "Stock Change (+/build; -/draw)"
        );
        assert_eq!(strip_line_number("Crude Oil Supply "), "Crude Oil Supply");
        assert_eq!(
            slug("Stock Change (+/build; -/draw)"),
            "stock_change_build_draw"
        );
        assert_eq!(
            slug("> 15 ppm to 500 ppm sulfur"),
            "15_ppm_to_500_ppm_sulfur"
        );
        assert_eq!(header_date("6/5/26"), NaiveDate::from_ymd_opt(2026, 6, 5));
        assert_eq!(header_date("Difference"), None);
        assert_eq!(table_name("https://ir.eia.gov/wpsr/table1.csv"), "table1");
    }

    #[test]
    fn short_lines_and_garbage_go_to_unqualified_with_the_line() {
        let csv = b"\"STUB_1\",\"6/5/26\",\"5/29/26\"\r\n\"Crude Oil\",\"1.0\",\"2.0\"\r\n\"Short\",\"1.0\"\r\n\"Odd\",\"x1\",\"\x96\"\r\n\x1a";
        let t = parse(csv, "table1.csv");
        assert_eq!(t.numbers.len(), 2);
        assert_eq!(t.not_available, 1);
        assert_eq!(t.rejects.len(), 2, "{:?}", t.rejects);
        assert!(
            t.rejects[0].reason.contains("line 3"),
            "{}",
            t.rejects[0].reason
        );
        assert!(t.rejects[1].reason.contains("`x1`"));
        assert_eq!(t.editions.len(), 1);
    }
}
