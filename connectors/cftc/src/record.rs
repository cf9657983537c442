//! One report row (from a `.txt` line or a Socrata object) read into
//! values, or into rejects with a reason.
//!
//! Rules, the same for every family and both sources:
//! * the key is `CFTC_Contract_Market_Code` (trimmed, leading zeros kept)
//!   plus the report date, never the market name, which the publisher
//!   renames (067651 was "CRUDE OIL, LIGHT SWEET" in 2021, "WTI-PHYSICAL"
//!   in 2025);
//! * `.` (and an empty value or Socrata `null`) means "not published":
//!   the value is skipped and counted, never loaded as a number;
//! * a value that is neither a number nor missing is rejected alone;
//! * a row whose date or code cannot be read is rejected whole;
//! * sanity: `open_interest_all = tot_rept_positions_long_all +
//!   nonrept_positions_long_all`, exactly, or within ±1 for "Consolidated"
//!   markets, whose parts the publisher rounds separately. A row that breaks
//!   it is rejected whole (reason and every value as text), none of its
//!   values loaded: a number that does not add up is not a number to trust.

use crate::config::contract_code;
use crate::fields::{Role, Unit};
use chrono::NaiveDate;
use std::collections::{BTreeSet, HashSet};

/// One published number.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// Contract market code.
    pub contract: String,
    /// Report date.
    pub report_date: NaiveDate,
    /// Canonical field name.
    pub field: &'static str,
    /// The number as published.
    pub value: f64,
    /// What it counts.
    pub unit: Unit,
}

/// Something that could not be loaded, kept as text with the reason.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reject {
    /// Line in the file (1 = header) or row of the Socrata result.
    pub row_number: Option<u64>,
    /// The contract code, when it could be read.
    pub contract: Option<String>,
    /// The report date as published, when there is one.
    pub report_date: Option<String>,
    /// The column, for a rejected value.
    pub column: Option<String>,
    /// The value, for a rejected value.
    pub value: Option<String>,
    /// The whole row as a JSON object of column → text.
    pub record: Option<String>,
    /// Why.
    pub reason: String,
}

/// Which rows to keep.
pub struct Filter {
    /// Contract codes to keep; empty keeps all.
    pub contracts: HashSet<String>,
    /// Report dates after this one are new.
    pub after: Option<NaiveDate>,
    /// Report dates on or after this one are read even when not new
    /// (`revisions`) ...
    pub again_from: Option<NaiveDate>,
    /// ... and nothing before this one (`since`).
    pub since: Option<NaiveDate>,
}

impl Filter {
    /// Whether rows of `date` are read in this pass.
    pub fn keeps_date(&self, date: NaiveDate) -> bool {
        if self.since.is_some_and(|s| date < s) {
            return false;
        }
        match self.after {
            None => true,
            Some(a) => date > a || self.again_from.is_some_and(|f| date >= f),
        }
    }

    fn keeps_contract(&self, code: &str) -> bool {
        self.contracts.is_empty() || self.contracts.contains(code)
    }
}

/// Everything read from one document.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Numbers to load.
    pub values: Vec<Value>,
    /// What could not be loaded.
    pub rejects: Vec<Reject>,
    /// Report dates read in this pass (one release edition each).
    pub editions: BTreeSet<NaiveDate>,
    /// The newest report date in the document, read or not.
    pub newest: Option<NaiveDate>,
    /// Values skipped because the publisher wrote `.` (not available).
    pub missing: u64,
    /// Rows rejected by the open-interest sanity rule.
    pub insane: u64,
}

/// `YYYY-MM-DD`, or Socrata's `YYYY-MM-DDT00:00:00.000`.
pub fn report_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    let day = match t.split_once('T') {
        Some((day, time)) => {
            let midnight = ["00:00:00", "00:00:00.000", "00:00:00.000Z", "00:00:00Z"];
            if !midnight.contains(&time) {
                return None;
            }
            day
        }
        None => t,
    };
    if day.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

/// The row as a JSON object, columns in published order.
fn record_json(cells: &[(&str, &str)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::from(*k).to_string());
        out.push(':');
        out.push_str(&serde_json::Value::from(*v).to_string());
    }
    out.push('}');
    out
}

impl Parsed {
    /// Reads one row: `cells` are (column as published, its role, value).
    pub fn read(&mut self, filter: &Filter, row_number: u64, cells: &[(&str, Role, &str)]) {
        let plain: Vec<(&str, &str)> = cells.iter().map(|(k, _, v)| (*k, *v)).collect();
        let whole = |reason: String, contract: Option<String>, date: Option<String>| Reject {
            row_number: Some(row_number),
            contract,
            report_date: date,
            record: Some(record_json(&plain)),
            reason,
            ..Reject::default()
        };
        let find = |role: Role| cells.iter().find(|(_, r, _)| *r == role).map(|c| c.2);
        let Some(date_text) = find(Role::ReportDate) else {
            self.rejects.push(whole(
                "the row has no report date column".into(),
                None,
                None,
            ));
            return;
        };
        let Some(date) = report_date(date_text) else {
            self.rejects.push(whole(
                format!("report date `{date_text}` is not YYYY-MM-DD"),
                None,
                Some(date_text.to_string()),
            ));
            return;
        };
        self.newest = self.newest.max(Some(date));
        if !filter.keeps_date(date) {
            return;
        }
        self.editions.insert(date);
        let code_text = find(Role::ContractCode).unwrap_or("");
        let Some(code) = contract_code(code_text) else {
            self.rejects.push(whole(
                format!("contract market code `{code_text}` is not six letters, digits or `+`"),
                None,
                Some(date_text.to_string()),
            ));
            return;
        };
        if !filter.keeps_contract(&code) {
            return;
        }
        let day = date.format("%Y-%m-%d").to_string();
        let mut values = Vec::new();
        for (column, role, text) in cells {
            let t = text.trim();
            let value_reject = |reason: String| Reject {
                row_number: Some(row_number),
                contract: Some(code.clone()),
                report_date: Some(day.clone()),
                column: Some(column.to_string()),
                value: Some(text.to_string()),
                reason,
                ..Reject::default()
            };
            match role {
                Role::Measure(f) => {
                    if t.is_empty() || t == "." {
                        self.missing += 1;
                        continue;
                    }
                    match t.parse::<f64>() {
                        Ok(v) if v.is_finite() => values.push(Value {
                            contract: code.clone(),
                            report_date: date,
                            field: f.canonical,
                            value: v,
                            unit: f.unit,
                        }),
                        _ => self.rejects.push(value_reject(format!(
                            "`{t}` in `{}` is not a number",
                            column.trim()
                        ))),
                    }
                }
                Role::Unknown if !t.is_empty() && t != "." => self.rejects.push(value_reject(
                    format!("column `{}` is not in the field table", column.trim()),
                )),
                _ => {}
            }
        }
        let name = find(Role::MarketName).unwrap_or("");
        if let Some(reason) = sanity(&values, name) {
            self.insane += 1;
            self.rejects.push(whole(reason, Some(code), Some(day)));
            return;
        }
        self.values.extend(values);
    }
}

/// The open-interest rule; `Some(reason)` when it is broken.
fn sanity(values: &[Value], market_name: &str) -> Option<String> {
    let get = |f: &str| values.iter().find(|v| v.field == f).map(|v| v.value);
    let oi = get("open_interest_all")?;
    let rept = get("tot_rept_positions_long_all")?;
    let nonrept = get("nonrept_positions_long_all")?;
    let consolidated = market_name.to_ascii_uppercase().contains("CONSOLIDATED");
    let tolerance = if consolidated { 1.0 } else { 0.0 };
    let off = oi - (rept + nonrept);
    (off.abs() > tolerance + 1e-9).then(|| {
        format!(
            "open interest {oi} is not total reportable long {rept} + non-reportable long {nonrept} (off by {off}{})",
            if consolidated { ", tolerance 1 for a consolidated market" } else { "" }
        )
    })
}
