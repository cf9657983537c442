//! The WPSR table 1 of each simulated week, and what it says.
//!
//! The real table of the week ending 2026-06-05 is the template: its lines,
//! its quoting, its en-dash cells and its end-of-file byte stay; the header
//! dates move to the simulated week, and the current- and previous-week
//! columns get new numbers in the template's format. The truth a release
//! publishes is read back from the text written, so the check compares the
//! warehouse with exactly what was served.

use chrono::{Duration, NaiveDate};
use qdp_eia::wpsr::{header_date, line_key};
use rand::Rng;
use rand::rngs::StdRng;
use std::collections::BTreeMap;

/// The real table this simulation is shaped after.
const TEMPLATE: &[u8] =
    include_bytes!("../../../examples/data/eia/table1_week_ending_2026-06-05.csv");

/// A number cell of the template, and how it is written.
#[derive(Debug, Clone)]
struct Format {
    base: f64,
    decimals: usize,
    grouped: bool,
}

impl Format {
    fn read(text: &str) -> Option<Self> {
        let t = text.trim();
        let plain = t.replace(',', "");
        let base: f64 = plain.parse().ok()?;
        Some(Self {
            base,
            decimals: plain.split_once('.').map_or(0, |(_, d)| d.len()),
            grouped: t.contains(','),
        })
    }

    fn write(&self, v: f64) -> String {
        let text = format!("{v:.*}", self.decimals);
        if !self.grouped {
            return text;
        }
        let (sign, rest) = text
            .strip_prefix('-')
            .map_or(("", text.as_str()), |r| ("-", r));
        let (int, frac) = rest
            .split_once('.')
            .map_or((rest, None), |(i, f)| (i, Some(f)));
        let mut grouped = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        match frac {
            Some(f) => format!("{sign}{grouped}.{f}"),
            None => format!("{sign}{grouped}"),
        }
    }

    /// The smallest step the format shows.
    fn step(&self) -> f64 {
        10f64.powi(-(self.decimals as i32))
    }
}

/// A line of the template.
enum Line {
    /// `STUB_1, ...`: each date cell as days from the block's week.
    Header(Vec<String>, Vec<(usize, i64)>),
    /// A data line: its field, and the number cells of the current and
    /// previous week columns.
    Data {
        cells: Vec<String>,
        field: String,
        current: Option<(usize, Format)>,
        previous: Option<(usize, Format)>,
    },
    /// Anything else, written as it is.
    Other(Vec<String>),
}

/// The template, read once.
pub struct Template {
    lines: Vec<Line>,
}

/// One simulated release of table 1.
#[derive(Debug, Clone)]
pub struct Table {
    /// The file as served (cp1252, ends with 0x1A).
    pub body: Vec<u8>,
    /// field → value of the week the release is about.
    pub current: BTreeMap<String, f64>,
    /// field → value of the week before, as this release states it.
    pub previous: BTreeMap<String, f64>,
}

fn parse_number(text: &str) -> Option<f64> {
    text.trim().replace(',', "").parse().ok()
}

impl Template {
    /// Reads the bundled real table.
    pub fn load() -> Result<Self, String> {
        let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(TEMPLATE);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut lines = Vec::new();
        // (stubs, current column, previous column) of the block being read.
        let mut block: Option<(usize, usize, Option<usize>)> = None;
        for record in reader.records() {
            let cells: Vec<String> = record
                .map_err(|e| format!("the template table: {e}"))?
                .iter()
                .map(str::to_string)
                .collect();
            if cells
                .iter()
                .all(|c| c.trim_matches(['\u{1a}', ' ']).is_empty())
            {
                continue;
            }
            if cells.first().is_some_and(|c| c.trim() == "STUB_1") {
                let stubs = cells.iter().take_while(|c| c.starts_with("STUB_")).count();
                let dates: Vec<(usize, NaiveDate)> = cells
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| header_date(c).map(|d| (i, d)))
                    .collect();
                let week = dates
                    .iter()
                    .map(|(_, d)| *d)
                    .max()
                    .ok_or("a template header without dates")?;
                let col = |d: NaiveDate| dates.iter().find(|(_, x)| *x == d).map(|(i, _)| *i);
                let current = col(week).ok_or("no current column")?;
                block = Some((stubs, current, col(week - Duration::days(7))));
                let offsets = dates.iter().map(|(i, d)| (*i, (*d - week).num_days()));
                lines.push(Line::Header(cells.clone(), offsets.collect()));
                continue;
            }
            match block {
                Some((stubs, cur, prev)) if stubs > 0 => {
                    let key = line_key("table1", stubs, &cells);
                    let fmt = |c: Option<usize>| {
                        c.and_then(|i| Format::read(cells.get(i)?).map(|f| (i, f)))
                    };
                    lines.push(Line::Data {
                        field: key.field,
                        current: fmt(Some(cur)),
                        previous: fmt(prev),
                        cells,
                    });
                }
                _ => lines.push(Line::Other(cells)),
            }
        }
        Ok(Self { lines })
    }

    /// The first publication of `field` for `week`: within ±2 % of the
    /// template's number, the same every time it is asked for.
    fn first_value(seed: u64, field: &str, week: NaiveDate, f: &Format) -> f64 {
        let mut h = seed ^ 0x9e37_79b9_7f4a_7c15;
        for b in field.bytes().chain(week.to_string().bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let u = ((h % 4001) as f64 - 2000.0) / 100_000.0;
        let v = f.base * (1.0 + u);
        let scale = 10f64.powi(f.decimals as i32);
        (v * scale).round() / scale
    }

    /// The table for `week`; `revise` names the fields whose previous-week
    /// number this release corrects (by a few steps of the last digit).
    pub fn render(&self, seed: u64, week: NaiveDate, revise: &[String], rng: &mut StdRng) -> Table {
        let prior = week - Duration::days(7);
        let mut out = String::new();
        let mut current = BTreeMap::new();
        let mut previous = BTreeMap::new();
        let quote = |cells: &[String]| {
            let q: Vec<String> = cells.iter().map(|c| format!("\"{c}\"")).collect();
            q.join(",") + "\r\n"
        };
        for line in &self.lines {
            match line {
                Line::Header(cells, offsets) => {
                    let mut cells = cells.clone();
                    for (i, days) in offsets {
                        let d = week + Duration::days(*days);
                        cells[*i] = d.format("%-m/%-d/%y").to_string();
                    }
                    out.push_str(&quote(&cells));
                }
                Line::Data {
                    cells,
                    field,
                    current: cur,
                    previous: prev,
                } => {
                    let mut cells = cells.clone();
                    if let Some((i, f)) = cur {
                        let text = f.write(Self::first_value(seed, field, week, f));
                        current.insert(field.clone(), parse_number(&text).unwrap_or(f64::NAN));
                        cells[*i] = text;
                    }
                    if let Some((i, f)) = prev {
                        // Last week's number as first published: drawn
                        // around the same base as the current column.
                        let base = cur.as_ref().map_or(f, |(_, c)| c);
                        let mut v = Self::first_value(seed, field, prior, base);
                        if revise.contains(field) {
                            let steps = f64::from(rng.random_range(1..=5u8));
                            let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                            v += sign * steps * f.step();
                        }
                        let text = f.write(v);
                        previous.insert(field.clone(), parse_number(&text).unwrap_or(f64::NAN));
                        cells[*i] = text;
                    }
                    out.push_str(&quote(&cells));
                }
                Line::Other(cells) => out.push_str(&quote(cells)),
            }
        }
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&out);
        let mut body = bytes.into_owned();
        body.push(0x1a);
        Table {
            body,
            current,
            previous,
        }
    }

    /// Fields with a number in the previous-week column (the ones a
    /// revision can touch).
    pub fn revisable(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                Line::Data {
                    field,
                    previous: Some(_),
                    ..
                } => Some(field.clone()),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_rendered_week_reads_back_as_written() {
        let t = Template::load().unwrap();
        let week = NaiveDate::from_ymd_opt(2024, 3, 8).unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        let field = t.revisable()[0].clone();
        let table = t.render(7, week, std::slice::from_ref(&field), &mut rng);
        assert_eq!(table.body.last(), Some(&0x1a));
        let parsed = qdp_eia::wpsr::parse(&table.body, "table1.csv");
        assert!(parsed.rejects.is_empty(), "{:?}", parsed.rejects);
        let read: BTreeMap<(String, String), f64> = parsed
            .numbers
            .iter()
            .map(|n| {
                (
                    (n.release_field.clone(), n.reference_period.clone()),
                    n.value,
                )
            })
            .collect();
        assert_eq!(read.len(), table.current.len() + table.previous.len());
        for (f, v) in &table.current {
            assert_eq!(read[&(f.clone(), "2024-03-08".to_string())], *v, "{f}");
        }
        // The revised field differs from its first publication; others match.
        let last_week = t.render(7, week - Duration::days(7), &[], &mut rng);
        assert_ne!(table.previous[&field], last_week.current[&field]);
        let other = &t.revisable()[1];
        assert_eq!(table.previous[other], last_week.current[other]);
        assert_eq!(Format::read("13,431").unwrap().write(-1234.0), "-1,234");
    }
}
