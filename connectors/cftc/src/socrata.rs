//! The Socrata API of publicreporting.cftc.gov: JSON arrays of objects
//! whose values are all strings, dates `YYYY-MM-DDT00:00:00.000`.

use crate::family::Family;
use crate::fields::{Role, role};
use crate::record::{Filter, Parsed, Reject};
use chrono::{Duration, NaiveDate};
use std::collections::HashMap;

/// The `$where` clause of [`Filter`]: report dates on or after `since`,
/// after the last one loaded or on or after the first one asked for again,
/// and the contracts to keep. Contract codes were checked to be letters and
/// digits, so quoting them is safe.
pub fn where_clause(filter: &Filter) -> Option<String> {
    let ts = |d: NaiveDate| format!("'{}T00:00:00.000'", d.format("%Y-%m-%d"));
    let mut parts = Vec::new();
    if let Some(s) = filter.since {
        parts.push(format!("report_date_as_yyyy_mm_dd >= {}", ts(s)));
    }
    match (filter.after, filter.again_from) {
        (Some(_), Some(f)) => parts.push(format!("report_date_as_yyyy_mm_dd >= {}", ts(f))),
        (Some(a), None) => parts.push(format!("report_date_as_yyyy_mm_dd > {}", ts(a))),
        (None, _) => {}
    }
    if !filter.contracts.is_empty() {
        let mut list: Vec<String> = filter.contracts.iter().map(|c| format!("'{c}'")).collect();
        list.sort();
        parts.push(format!("cftc_contract_market_code in ({})", list.join(",")));
    }
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

/// The earliest date a pass must ask for again, given the last one loaded
/// and `revisions` (weekly reports: N report dates go back N-1 weeks).
pub fn again_from(last: NaiveDate, revisions: u32) -> Option<NaiveDate> {
    (revisions > 0).then(|| last - Duration::days(7 * i64::from(revisions) - 1))
}

/// A page as text, or why it is not a page.
pub fn page_rows(body: &[u8]) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the page is not JSON: {e}"))?;
    let serde_json::Value::Array(items) = v else {
        let shown: String = String::from_utf8_lossy(body).chars().take(300).collect();
        return Err(format!("the page is not a JSON array: {shown}"));
    };
    Ok(items
        .into_iter()
        .map(|i| match i {
            serde_json::Value::Object(m) => m,
            other => {
                let mut m = serde_json::Map::new();
                m.insert(String::new(), other);
                m
            }
        })
        .collect())
}

/// Reads the rows of one page; `first_row` numbers them across pages.
pub fn parse_page(
    family: Family,
    rows: &[serde_json::Map<String, serde_json::Value>],
    first_row: u64,
    filter: &Filter,
    parsed: &mut Parsed,
) {
    let mut roles: HashMap<String, Role> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        let n = first_row + i as u64;
        if row.contains_key("") {
            parsed.rejects.push(Reject {
                row_number: Some(n),
                record: row.get("").map(|v| v.to_string()),
                reason: "the item is not a JSON object".into(),
                ..Reject::default()
            });
            continue;
        }
        let texts: Vec<(String, String)> = row
            .iter()
            .map(|(k, v)| {
                let t = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                };
                (k.clone(), t)
            })
            .collect();
        let cells: Vec<(&str, Role, &str)> = texts
            .iter()
            .map(|(k, v)| {
                let r = *roles.entry(k.clone()).or_insert_with(|| role(family, k));
                (k.as_str(), r, v.as_str())
            })
            .collect();
        parsed.read(filter, n, &cells);
    }
}
