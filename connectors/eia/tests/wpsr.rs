//! WPSR CSV mode against a loopback HTTP server serving the seven real
//! `table1.csv` releases in shared/data/real/eia/wpsr_table1_csv/.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Row, Server, count, ok, pass, raw_objects, real, rows, texts};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const WEEKS: [&str; 7] = [
    "2026-04-24",
    "2026-05-01",
    "2026-05-08",
    "2026-05-15",
    "2026-05-22",
    "2026-05-29",
    "2026-06-05",
];

fn file(week: &str) -> Vec<u8> {
    real(&format!("wpsr_table1_csv/table1_week_ending_{week}.csv"))
}

/// Serves `/<week>/table1.csv` for each week; `swap` replaces one week's file.
/// One week's table served in place of the real one: (week, bytes).
type Swap = Arc<Mutex<Option<(String, Vec<u8>)>>>;

fn server(swap: Swap) -> Server {
    Server::start(move |s, _| {
        let week = s
            .path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        if let Some((w, body)) = swap.lock().unwrap().clone()
            && w == week
        {
            return ok(body);
        }
        if WEEKS.contains(&week.as_str()) {
            ok(file(&week))
        } else {
            (404, Vec::new(), b"no such table".to_vec())
        }
    })
}

fn opts(server: &Server) -> Value {
    let urls: Vec<String> = WEEKS
        .iter()
        .map(|w| format!("{}/{w}/table1.csv", server.base))
        .collect();
    json!({ "mode": "wpsr_csv", "urls": urls, "min_interval": "1ms", "retry_initial": "1ms" })
}

fn find<'a>(rows: &'a [Row], field: &str, period: &str) -> Vec<&'a Row> {
    rows.iter()
        .filter(|r| r.release_field == field && r.reference_period == period)
        .collect()
}

fn value(rows: &[Row], field: &str, period: &str) -> f64 {
    let found = find(rows, field, period);
    assert!(!found.is_empty(), "no {field} for {period}");
    found[0].value
}

#[tokio::test]
async fn all_seven_real_tables_read_line_by_line() {
    let srv = server(Arc::default());
    let b = pass(opts(&srv), None).await.unwrap();
    let r = rows(&b);
    // 19 stock lines and 37 supply lines, this week and last week, per file.
    assert_eq!(r.len(), 7 * 56 * 2);
    assert_eq!(
        count(&b, "numeric_economic_data_unqualified"),
        0,
        "{:?}",
        texts(
            &b,
            "numeric_economic_data_unqualified",
            "unqualified_reason"
        )
    );
    assert!(r.iter().all(|r| r.release_code == "EIA-WPSR"));

    // Values read off the files by eye.
    assert_eq!(value(&r, "WCESTUS1", "2026-04-24"), 459.495);
    assert_eq!(value(&r, "WCESTUS1", "2026-04-17"), 465.729);
    assert_eq!(value(&r, "WCESTUS1", "2026-06-05"), 426.485);
    assert_eq!(value(&r, "WCESTUS1", "2026-05-22"), 441.686);
    assert_eq!(value(&r, "WTTSTUS1", "2026-06-05"), 1559.930);
    assert_eq!(value(&r, "WCRFPUS2", "2026-06-05"), 13799.0);
    assert_eq!(value(&r, "WCRFPUS2", "2026-05-29"), 13707.0);
    assert_eq!(value(&r, "WCRNTUS2", "2026-04-24"), -688.0);
    assert_eq!(value(&r, "WDIUPUS2", "2026-04-24"), 4113.0);
    assert_eq!(value(&r, "table1.stocks.reformulated", "2026-06-05"), 0.027);
    assert_eq!(
        value(
            &r,
            "table1.crude_oil_supply.stock_change_build_draw",
            "2026-04-24"
        ),
        -1908.0
    );
    // The two lines EIA numbers (33) are two fields.
    assert_eq!(
        value(
            &r,
            "table1.net_imports_of_crude_and_petroleum_products.total",
            "2026-04-24"
        ),
        -6677.0
    );
    // Units as published: million barrels here, thousand barrels per day there.
    assert_eq!(
        find(&r, "WCESTUS1", "2026-06-05")[0].unit,
        "1000000_barrels"
    );
    assert_eq!(
        find(&r, "WCRFPUS2", "2026-06-05")[0].unit,
        "1000_barrels_per_day"
    );

    // release_time from the calendar: Memorial Day moves the week ending
    // 2026-05-22 to Thursday 2026-05-28, 10:30 New York.
    assert_eq!(
        find(&r, "WCESTUS1", "2026-05-22")[0].release_time,
        "2026-05-28T14:30:00+00:00"
    );
    assert_eq!(
        find(&r, "WCESTUS1", "2026-06-05")[0].release_time,
        "2026-06-10T14:30:00+00:00"
    );

    // Last week's column of one release is the key of the previous release's
    // current week: same release_time, and here the same value.
    for w in &WEEKS[..6] {
        for row in r.iter().filter(|x| x.reference_period == *w) {
            let same = find(&r, &row.release_field, w);
            assert_eq!(same.len(), 2, "{} {w}", row.release_field);
            assert_eq!(same[0].value, same[1].value);
            assert_eq!(same[0].release_time, same[1].release_time);
        }
    }

    let content = texts(&b, "economic_data_releases", "release_content");
    assert_eq!(content.len(), 7);
    assert_eq!(
        content[6],
        "EIA Weekly Petroleum Status Report, week ending 2026-06-05"
    );
    let raw = raw_objects(&b);
    assert_eq!(raw.len(), 7);
    assert_eq!(raw[0].content, file(WEEKS[0]), "kept byte for byte");
    assert_eq!(raw[0].extension, "csv");
    assert!(raw.iter().all(|o| o.source_system == "eia_wpsr_csv"));
}

#[tokio::test]
async fn an_unchanged_table_is_not_loaded_twice_and_a_changed_one_is() {
    let swap: Swap = Arc::default();
    let srv = server(swap.clone());
    let first = pass(opts(&srv), None).await.unwrap();
    let ck = first.last().unwrap().checkpoint.clone();
    let again = pass(opts(&srv), Some(ck.clone())).await.unwrap();
    // Unchanged tables give only their editions (so a scheduler restarted
    // after a load it had not recorded yet still sees the release): no raw
    // object, no number.
    assert!(raw_objects(&again).is_empty());
    assert!(rows(&again).is_empty());
    assert!(
        again.iter().all(|b| b.category == "economic_data_releases"),
        "{:?}",
        again.iter().map(|b| &b.category).collect::<Vec<_>>()
    );
    assert_eq!(
        count(&again, "economic_data_releases"),
        7,
        "one edition per table"
    );
    assert_eq!(srv.seen().len(), 14, "every table asked for again");

    // The newest table changes at its URL (the next release): only it loads.
    *swap.lock().unwrap() = Some(("2026-04-24".into(), file("2026-06-05")));
    let third = pass(opts(&srv), Some(ck)).await.unwrap();
    assert_eq!(raw_objects(&third).len(), 1);
    assert_eq!(rows(&third).len(), 112);
    assert!(
        rows(&third)
            .iter()
            .any(|r| r.reference_period == "2026-06-05")
    );
}

/// A table cut short (no 0x1A at its end) is fetched again, never loaded
/// with lines missing; one that stays short ends the pass with an error.
#[tokio::test]
async fn a_table_cut_short_is_fetched_again() {
    let whole = file("2026-06-05");
    let half = whole[..whole.len() / 2].to_vec();
    let (w, h) = (whole.clone(), half.clone());
    let srv = Server::start(move |_, n| if n < 2 { ok(h.clone()) } else { ok(w.clone()) });
    let url = format!("{}/2026-06-05/table1.csv", srv.base);
    let o =
        json!({ "mode": "wpsr_csv", "urls": [url], "min_interval": "1ms", "retry_initial": "1ms" });
    let b = pass(o.clone(), None).await.unwrap();
    assert_eq!(
        srv.seen().len(),
        3,
        "two short bodies, then the whole table"
    );
    assert_eq!(rows(&b).len(), 112);
    assert_eq!(raw_objects(&b)[0].content, whole);

    let srv = Server::start(move |_, _| ok(half.clone()));
    let mut o = o;
    o["urls"] = json!([format!("{}/t/table1.csv", srv.base)]);
    o["max_retries"] = json!(1);
    let e = pass(o.clone(), None).await.unwrap_err();
    assert!(e.to_string().contains("0x1A"), "{e}");
    o["end_marker"] = json!(false);
    let b = pass(o, None).await.unwrap();
    assert!(rows(&b).len() < 112, "read as it is when told to");
}

#[tokio::test]
async fn a_missing_table_is_a_clear_error() {
    let srv = server(Arc::default());
    let o = json!({ "mode": "wpsr_csv", "urls": [format!("{}/nope/table9.csv", srv.base)],
                    "min_interval": "1ms" });
    let e = pass(o, None).await.unwrap_err();
    assert!(e.to_string().contains("404"), "{e}");
    assert!(e.to_string().contains("/nope/table9.csv"), "{e}");
}

/// The warehouse compares the two source systems per `release_field` and
/// `reference_period`: the same week read from the API and from table 1
/// must meet on those keys (and on `release_time`), the units differing by
/// the published factor 1000 for stocks.
#[tokio::test]
async fn the_api_and_the_table_meet_on_field_period_and_release_time() {
    let csv = server(Arc::default());
    let mut o = opts(&csv);
    o["urls"] = json!([format!("{}/2026-06-05/table1.csv", csv.base)]);
    let table = rows(&pass(o, None).await.unwrap());
    // An API page for the same week, shaped like the real wstk responses
    // (the real API files end in 2024), with the table's values in MBBL.
    let api =
        Server::start(|_, _| {
            ok(br#"{"response":{"total":"2","dateFormat":"YYYY-MM-DD","frequency":"weekly","data":[
            {"period":"2026-06-05","series":"WCESTUS1","value":"426485","units":"MBBL"},
            {"period":"2026-06-05","series":"WCRFPUS2","value":"13799","units":"MBBL/D"}]},
            "request":{},"apiVersion":"2.1.7"}"#
            .to_vec())
        });
    let from_api = rows(
        &pass(
            json!({ "api_key": "k", "base_url": format!("{}/v2", api.base), "min_interval": "1ms",
                    "series": [{ "route": "petroleum/stoc/wstk", "facets": { "series": ["WCESTUS1", "WCRFPUS2"] },
                                 "release_code": "EIA-WPSR", "release_calendar": "eia_wpsr" }] }),
            None,
        )
        .await
        .unwrap(),
    );
    for a in &from_api {
        let t = find(&table, &a.release_field, &a.reference_period);
        assert_eq!(t.len(), 1, "{} {}", a.release_field, a.reference_period);
        assert_eq!(t[0].release_code, a.release_code);
        assert_eq!(t[0].release_time, a.release_time);
        let factor = match (a.unit.as_str(), t[0].unit.as_str()) {
            ("1000_barrels", "1000000_barrels") => 1000.0,
            (x, y) if x == y => 1.0,
            other => panic!("units {other:?}"),
        };
        assert!(
            (t[0].value * factor - a.value).abs() < 1e-6,
            "{a:?} vs {:?}",
            t[0]
        );
    }
    assert_eq!(from_api.len(), 2);
}
