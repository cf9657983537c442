//! EIA API v2: request URLs and the rows of one response page.
//!
//! One parser reads every shape seen from the API: route endpoints
//! (`total` and `value` as strings, `series`/`units`), the v1-compatible
//! `/seriesid/` endpoint (`total` and `value` as numbers) and routes such as
//! STEO whose rows say `seriesId`/`unit`. Periods follow
//! `response.dateFormat`.

use crate::config::Series;
use crate::http::percent_encode;
use crate::period::Period;
use crate::rows::{Edition, Number, Reject};
use crate::values::{Cell, parse_json, unit};
use serde_json::Value;
use std::collections::BTreeSet;

/// Publisher code of every row.
pub const PUBLISHER: &str = "EIA";

/// The URL of one page without the key (the object name) and with it.
pub fn page_url(
    base: &str,
    s: &Series,
    start: Option<&str>,
    offset: usize,
    length: usize,
) -> String {
    let mut q: Vec<String> = Vec::new();
    let path = match (&s.seriesid, &s.route) {
        (Some(id), _) => format!("{base}/seriesid/{}", percent_encode(id)),
        (None, route) => {
            let route = route.as_deref().unwrap_or_default().trim_matches('/');
            q.push(format!("frequency={}", percent_encode(&s.frequency)));
            q.push("data[0]=value".into());
            for (facet, values) in &s.facets {
                for v in values {
                    q.push(format!(
                        "facets[{}][]={}",
                        percent_encode(facet),
                        percent_encode(v)
                    ));
                }
            }
            format!("{base}/{route}/data/")
        }
    };
    if let Some(start) = start {
        q.push(format!("start={}", percent_encode(start)));
    }
    if s.seriesid.is_none() {
        q.push("sort[0][column]=period".into());
        q.push("sort[0][direction]=asc".into());
    }
    q.push(format!("offset={offset}"));
    q.push(format!("length={length}"));
    format!("{path}?{}", q.join("&"))
}

/// `url` with the key appended, for the request only.
pub fn with_key(url: &str, key: &str) -> String {
    format!("{url}&api_key={}", percent_encode(key))
}

/// What one page holds.
#[derive(Debug, Default)]
pub struct Page {
    /// Rows in `response.data`, whatever became of them.
    pub rows: usize,
    /// Readable numbers.
    pub numbers: Vec<Number>,
    /// Rows that could not be read.
    pub rejects: Vec<Reject>,
    /// Values published as not available (`NA`, null): skipped, counted.
    pub not_available: usize,
    /// One edition per period with numbers.
    pub editions: Vec<Edition>,
    /// The latest period with a number.
    pub max_period: Option<String>,
    /// `response.total`, as a number, when given.
    pub total: Option<u64>,
    /// `response.warnings[].warning` texts.
    pub warnings: Vec<String>,
}

fn str_of<'a>(row: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| row.get(*k).and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
}

fn kind_fits(date_format: Option<&str>, p: Period) -> bool {
    match date_format {
        Some("YYYY-MM-DD") => matches!(p, Period::Day(_)),
        Some("YYYY-MM") => matches!(p, Period::Month(..)),
        Some("YYYY") => matches!(p, Period::Year(_)),
        _ => true,
    }
}

/// The sentence of `economic_data_releases.release_content`.
pub fn edition_content(release_code: &str, what: &str, frequency: &str, period: &str) -> String {
    if release_code == "EIA-WPSR" {
        format!("EIA Weekly Petroleum Status Report, week ending {period}")
    } else {
        format!("EIA release {release_code} ({what}): {frequency} data for {period}")
    }
}

/// A page cut short in transit: JSON that ends before its last brace. Any
/// other body (an HTML maintenance page) is read and goes to unqualified.
pub fn check_complete(body: &[u8]) -> Result<(), String> {
    match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        Err(e) if e.is_eof() => Err(format!("the JSON page ends early ({e})")),
        _ => Ok(()),
    }
}

/// Reads one page. A body that is not an API v2 response is one reject
/// with the reason (the raw document is kept by the caller either way).
pub fn parse_page(body: &[u8], s: &Series) -> Page {
    let mut page = Page::default();
    let release_code = s.release_code();
    let calendar = s.calendar();
    let reject = |reason: String| Reject {
        publisher: Some(PUBLISHER.into()),
        release_code: Some(release_code.clone()),
        reason,
        ..Reject::default()
    };
    let doc: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            page.rejects
                .push(reject(format!("the page is not JSON: {e}")));
            return page;
        }
    };
    let Some(resp) = doc.get("response") else {
        let why = doc
            .get("error")
            .map(|e| e.to_string())
            .unwrap_or_else(|| "no `response` object".into());
        page.rejects
            .push(reject(format!("not an API v2 response: {why}")));
        return page;
    };
    page.total = match resp.get("total") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(t)) => t.trim().parse().ok(),
        _ => None,
    };
    page.warnings = resp
        .get("warnings")
        .and_then(Value::as_array)
        .map(|w| {
            w.iter()
                .filter_map(|x| x.get("warning").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let date_format = resp.get("dateFormat").and_then(Value::as_str);
    let Some(data) = resp.get("data").and_then(Value::as_array) else {
        page.rejects
            .push(reject("`response.data` is not a list".into()));
        return page;
    };
    let what = s
        .route
        .as_deref()
        .or(s.seriesid.as_deref())
        .unwrap_or_default();
    let mut periods = BTreeSet::new();
    page.rows = data.len();
    for row in data {
        let period_text = str_of(row, &["period"]);
        let field = str_of(row, &["series", "seriesId", "series-id"]);
        let published_unit = str_of(row, &["units", "unit"]);
        let value = row.get("value");
        let period = period_text.and_then(Period::parse);
        let release_time = period.and_then(|p| p.release_time(calendar));
        let mut r = reject(String::new());
        r.release_field = field.map(str::to_string);
        r.unit = published_unit.map(str::to_string);
        r.reference_period = period_text.map(str::to_string);
        r.release_time = release_time.map(|t| t.to_rfc3339());
        r.value = value.map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let cell = parse_json(value);
        let problem = match (period, field, published_unit, &cell, release_time) {
            (_, _, _, Cell::NotAvailable, _) => {
                page.not_available += 1;
                continue;
            }
            (None, ..) => Some(format!(
                "period `{}` is not a date like 2024-10-04, 2024-07 or 2024",
                period_text.unwrap_or_default()
            )),
            (Some(p), ..) if !kind_fits(date_format, p) => Some(format!(
                "period `{}` does not match dateFormat {}",
                period_text.unwrap_or_default(),
                date_format.unwrap_or_default()
            )),
            (_, None, ..) => Some("the row names no series (`series` or `seriesId`)".into()),
            (_, _, None, ..) => Some("the row gives no unit (`units` or `unit`)".into()),
            (_, _, _, Cell::Malformed(t), _) => Some(format!("value `{t}` is not a number")),
            (.., None) => Some("the period has no release time".into()),
            _ => None,
        };
        if let Some(reason) = problem {
            r.reason = reason;
            page.rejects.push(r);
            continue;
        }
        if let (Some(p), Some(f), Some(u), Cell::Number(v), Some(t)) =
            (period, field, published_unit, cell, release_time)
        {
            let reference_period = p.to_string();
            let ns = t.timestamp_nanos_opt().unwrap_or_default();
            if periods.insert(reference_period.clone()) {
                page.editions.push(Edition {
                    publisher: PUBLISHER.into(),
                    release_code: release_code.clone(),
                    frequency: crate::rows::frequency(&s.frequency).into(),
                    release_time_ns: Some(ns),
                    content: edition_content(&release_code, what, &s.frequency, &reference_period),
                });
            }
            page.numbers.push(Number {
                publisher: PUBLISHER.into(),
                release_code: release_code.clone(),
                release_time_ns: ns,
                release_field: f.to_string(),
                value: v,
                unit: unit(u),
                reference_period,
            });
        }
    }
    page.max_period = periods.last().cloned();
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn wstk() -> Series {
        Series {
            route: Some("petroleum/stoc/wstk".into()),
            seriesid: None,
            frequency: "weekly".into(),
            facets: BTreeMap::from([("series".into(), vec!["WCESTUS1".into()])]),
            release_code: Some("EIA-WPSR".into()),
            release_calendar: Some("eia_wpsr".into()),
        }
    }

    #[test]
    fn urls_carry_facets_sort_and_paging_and_the_key_only_when_asked() {
        let u = page_url("http://h/v2", &wstk(), Some("2024-09-06"), 5000, 5000);
        assert_eq!(
            u,
            "http://h/v2/petroleum/stoc/wstk/data/?frequency=weekly&data[0]=value&facets[series][]=WCESTUS1&start=2024-09-06&sort[0][column]=period&sort[0][direction]=asc&offset=5000&length=5000"
        );
        assert!(with_key(&u, "k").ends_with("&api_key=k"));
    }

    #[test]
    fn rows_of_every_shape_and_the_bad_ones_with_a_reason() {
        let body = br#"{"response":{"total":4,"dateFormat":"YYYY-MM-DD","data":[
            {"period":"2024-10-04","series":"WCESTUS1","value":"422741","units":"MBBL"},
            {"period":"2024-09-27","seriesId":"WCESTUS1","value":".5","unit":"MBBL"},
            {"period":"2024-09-20","series":"WCESTUS1","value":"NA","units":"MBBL"},
            {"period":"2024-09-13","series":"WCESTUS1","value":null,"units":"MBBL"},
            {"period":"2024-09","series":"WCESTUS1","value":"1","units":"MBBL"},
            {"period":"2024-09-06","series":"WCESTUS1","value":"12x","units":"MBBL"},
            {"period":"2024-08-30","value":"1","units":"MBBL"}]}}"#;
        let p = parse_page(body, &wstk());
        assert_eq!(p.rows, 7);
        assert_eq!(p.total, Some(4));
        assert_eq!(p.not_available, 2);
        assert_eq!(p.numbers.len(), 2);
        assert_eq!(p.numbers[1].value, 0.5);
        assert_eq!(p.numbers[0].unit, "1000_barrels");
        assert_eq!(p.rejects.len(), 3);
        assert!(
            p.rejects[0].reason.contains("dateFormat"),
            "{:?}",
            p.rejects
        );
        assert!(p.rejects[1].reason.contains("12x"));
        assert!(p.rejects[2].reason.contains("no series"));
        assert_eq!(p.max_period.as_deref(), Some("2024-10-04"));
        assert_eq!(p.editions.len(), 2);
    }

    #[test]
    fn a_body_that_is_not_a_response_is_one_reject() {
        let p = parse_page(b"<html>busy</html>", &wstk());
        assert_eq!(p.rejects.len(), 1);
        let p = parse_page(br#"{"error":"API_KEY_INVALID"}"#, &wstk());
        assert!(p.rejects[0].reason.contains("API_KEY_INVALID"));
    }
}
