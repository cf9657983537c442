//! API v2 mode against a real HTTP server on a loopback port serving the
//! real EIA responses in shared/data/real/eia/api_v2/.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, api_page, count, ok, pass, real, rows, texts};
use qdp_sdk::ErrorDomain;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const KEY: &str = "QDPSECRETKEY0123456789abcdef";

fn wstk() -> Value {
    json!({ "route": "petroleum/stoc/wstk", "frequency": "weekly",
            "facets": { "series": ["WCESTUS1"] },
            "release_code": "EIA-WPSR", "release_calendar": "eia_wpsr" })
}

fn opts(server: &Server, series: Value) -> Value {
    json!({ "mode": "api_v2", "api_key": KEY, "base_url": format!("{}/v2", server.base),
            "series": series, "min_interval": "1ms", "retry_initial": "1ms" })
}

/// A server that answers every path from one real file.
fn serving(file: &'static str) -> Server {
    let body = real(file);
    Server::start(move |s, _| ok(api_page(&body, s)))
}

fn pairs(rows: &[common::Row]) -> BTreeMap<String, f64> {
    rows.iter()
        .map(|r| (r.reference_period.clone(), r.value))
        .collect()
}

#[tokio::test]
async fn route_and_seriesid_responses_give_identical_period_value_pairs() {
    let by_route = serving("api_v2/v2_route_petroleum-stoc-wstk_WCESTUS1_weekly.json");
    let a = pass(opts(&by_route, json!([wstk()])), None).await.unwrap();
    let by_id = serving("api_v2/v2_seriesid_PET.WCESTUS1.W.json");
    let b = pass(
        opts(
            &by_id,
            json!([{ "seriesid": "PET.WCESTUS1.W", "release_code": "EIA-WPSR", "release_calendar": "eia_wpsr" }]),
        ),
        None,
    )
    .await
    .unwrap();
    let (ra, rb) = (rows(&a), rows(&b));
    assert_eq!(ra.len(), 2193);
    assert_eq!(pairs(&ra), pairs(&rb));
    assert_eq!(ra, rb, "same rows whatever the endpoint");
    let latest = ra
        .iter()
        .find(|r| r.reference_period == "2024-10-04")
        .unwrap();
    assert_eq!(latest.value, 422741.0);
    assert_eq!(latest.release_field, "WCESTUS1");
    assert_eq!(latest.unit, "1000_barrels");
    assert_eq!(latest.release_code, "EIA-WPSR");
    assert_eq!(latest.component, "eia_test");
    // Wednesday 2024-10-09 10:30 New York (EDT).
    assert_eq!(latest.release_time, "2024-10-09T14:30:00+00:00");
    let first = ra
        .iter()
        .find(|r| r.reference_period == "1982-08-20")
        .unwrap();
    assert_eq!(first.value, 338764.0);
    // One page each (2193 < 5000), the paths as asked.
    assert_eq!(by_route.seen().len(), 1);
    assert_eq!(by_route.seen()[0].path, "/v2/petroleum/stoc/wstk/data/");
    assert_eq!(by_route.seen()[0].params["facets[series][]"], "WCESTUS1");
    assert_eq!(by_id.seen()[0].path, "/v2/seriesid/PET.WCESTUS1.W");
    // One edition per week, and the raw page is the document received.
    assert_eq!(count(&a, "economic_data_releases"), 2193);
    let content = texts(&a, "economic_data_releases", "release_content");
    assert!(
        content.contains(&"EIA Weekly Petroleum Status Report, week ending 2024-10-04".to_string())
    );
    assert_eq!(count(&a, "raw_object"), 1);
    assert_eq!(count(&a, "numeric_economic_data_unqualified"), 0);
}

#[tokio::test]
async fn an_incomplete_return_is_paginated_until_a_short_or_empty_page() {
    let ng = json!([{ "route": "natural-gas/pri/fut", "frequency": "daily",
                      "facets": { "series": ["RNGC1"] }, "release_code": "EIA-NG-FUT" }]);
    // Pages of 2000: full, full, short but still warning "incomplete
    // return" (the file's warning is on every page), so one more: empty.
    let server = serving("api_v2/v2_route_natural-gas-pri-fut_RNGC1_daily.json");
    let mut o = opts(&server, ng.clone());
    o["length"] = json!(2000);
    let b = pass(o, None).await.unwrap();
    let offsets: Vec<String> = server
        .seen()
        .iter()
        .map(|s| s.params["offset"].clone())
        .collect();
    assert_eq!(offsets, ["0", "2000", "4000", "5000"]);
    let r = rows(&b);
    assert_eq!(r.len(), 5000);
    assert_eq!(pairs(&r).len(), 5000, "no period twice");
    assert_eq!(count(&b, "raw_object"), 4, "one raw object per page");
    let first = r
        .iter()
        .find(|r| r.reference_period == "2004-05-27")
        .unwrap();
    assert_eq!(first.value, 6.573);
    assert_eq!(first.unit, "1_USD_per_MMBtu");
    assert_eq!(first.release_code, "EIA-NG-FUT");
    // No calendar: the period's start at 00:00 UTC.
    assert_eq!(first.release_time, "2004-05-27T00:00:00+00:00");
    assert_eq!(pairs(&r)["2024-04-05"], 1.785);

    // Pages of 5000: the warning says more may come, so ask again.
    let server = serving("api_v2/v2_route_natural-gas-pri-fut_RNGC1_daily.json");
    let b = pass(opts(&server, ng), None).await.unwrap();
    let offsets: Vec<String> = server
        .seen()
        .iter()
        .map(|s| s.params["offset"].clone())
        .collect();
    assert_eq!(offsets, ["0", "5000"]);
    assert_eq!(rows(&b).len(), 5000);
}

#[tokio::test]
async fn a_total_larger_than_the_rows_does_not_make_rows_up() {
    let server = serving("api_v2/v2_route_petroleum-move-pipe_MD0MP_R10-R20_1_monthly.json");
    let b = pass(
        opts(
            &server,
            json!([{ "route": "petroleum/move/pipe", "frequency": "monthly",
                     "facets": { "series": ["MD0MP_R10-R20_1"] } }]),
        ),
        None,
    )
    .await
    .unwrap();
    assert_eq!(server.seen().len(), 1, "a short page ends the series");
    let r = rows(&b);
    assert_eq!(r.len(), 218);
    let jul = r.iter().find(|r| r.reference_period == "2024-07").unwrap();
    assert_eq!(jul.value, 1072.0);
    assert_eq!(jul.release_field, "MD0MP_R10-R20_1");
    assert_eq!(jul.release_code, "EIA-PETROLEUM-MOVE-PIPE");
    assert_eq!(jul.release_time, "2024-07-01T00:00:00+00:00");
    assert_eq!(jul.unit, "1000_barrels");
    let freq = texts(&b, "economic_data_releases", "release_frequency");
    assert!(freq.iter().all(|f| f == "monthly"));
}

#[tokio::test]
async fn steo_rows_with_series_id_unit_and_leading_dots() {
    let file = real("api_v2/v2_route_steo_PADI_OPEC_monthly.json");
    let text = String::from_utf8_lossy(&file);
    let leading_dots = text.matches("\"value\": \".").count();
    assert_eq!(leading_dots, 32, "the file as the manifest describes it");
    let server = serving("api_v2/v2_route_steo_PADI_OPEC_monthly.json");
    let b = pass(
        opts(
            &server,
            json!([{ "route": "steo", "frequency": "monthly", "facets": { "seriesId": ["PADI_OPEC"] } }]),
        ),
        None,
    )
    .await
    .unwrap();
    let r = rows(&b);
    assert_eq!(r.len(), 189);
    assert_eq!(count(&b, "numeric_economic_data_unqualified"), 0);
    assert!(r.iter().filter(|r| r.value < 1.0 && r.value > 0.0).count() >= 32);
    let sep = r.iter().find(|r| r.reference_period == "2024-09").unwrap();
    assert_eq!(sep.value, 2.08975);
    assert_eq!(sep.release_field, "PADI_OPEC");
    assert_eq!(sep.unit, "1_million_barrels_per_day");
    assert!(r.iter().any(|r| r.value == 0.38705767703));
    assert_eq!(server.seen()[0].params["facets[seriesId][]"], "PADI_OPEC");
}

#[tokio::test]
async fn a_429_and_a_503_are_retried_and_then_read() {
    let body = real("api_v2/v2_route_petroleum-stoc-wstk_WCESTUS1_weekly.json");
    let server = Server::start(move |s, n| match n {
        0 => (
            429,
            vec![("retry-after".into(), "0".into())],
            b"slow down".to_vec(),
        ),
        1 => (503, Vec::new(), b"busy".to_vec()),
        _ => ok(api_page(&body, s)),
    });
    let b = pass(opts(&server, json!([wstk()])), None).await.unwrap();
    assert_eq!(server.seen().len(), 3);
    assert_eq!(rows(&b).len(), 2193);

    // Retries run out: an external (retryable) error naming the status.
    let server = Server::start(|_, _| (503, Vec::new(), b"down".to_vec()));
    let mut o = opts(&server, json!([wstk()]));
    o["max_retries"] = json!(2);
    let e = pass(o, None).await.unwrap_err();
    assert_eq!(e.domain, ErrorDomain::External);
    assert!(e.retryable);
    assert!(e.to_string().contains("503"), "{e}");
    assert_eq!(server.seen().len(), 3);
}

/// A JSON page cut short in transit is fetched again; an HTML page is not
/// JSON at all and goes to unqualified (see below).
#[tokio::test]
async fn a_page_cut_short_is_fetched_again() {
    let body = real("api_v2/v2_route_petroleum-stoc-wstk_WCESTUS1_weekly.json");
    let server = Server::start(move |s, n| {
        let page = api_page(&body, s);
        if n == 0 {
            ok(page[..page.len() / 3].to_vec())
        } else {
            ok(page)
        }
    });
    let b = pass(opts(&server, json!([wstk()])), None).await.unwrap();
    assert_eq!(server.seen().len(), 2);
    assert_eq!(rows(&b).len(), 2193);
    assert_eq!(count(&b, "numeric_economic_data_unqualified"), 0);
}

#[tokio::test]
async fn the_api_key_never_leaves_in_a_batch_an_object_name_or_an_error() {
    let server = serving("api_v2/v2_route_petroleum-stoc-wstk_WCESTUS1_weekly.json");
    let b = pass(opts(&server, json!([wstk()])), None).await.unwrap();
    // The server did get it, and echoed it in the document as live EIA does.
    assert_eq!(server.seen()[0].params["api_key"], KEY);
    let everything = common::all_bytes(&b);
    assert!(!everything.is_empty());
    assert!(
        !everything.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
        "the key reached a batch"
    );
    let raw = common::raw_objects(&b);
    let doc: Value = serde_json::from_slice(&raw[0].content).unwrap();
    assert_eq!(doc["request"]["params"]["api_key"], "***");
    assert!(
        !raw[0].object_name.contains("api_key"),
        "{}",
        raw[0].object_name
    );
    assert!(raw[0].object_name.starts_with(&server.base));

    // A refused key echoed back in an error body stays out of the error.
    let server = Server::start(|s, _| {
        let body = format!("{{\"error\":\"API_KEY_INVALID {}\"}}", s.params["api_key"]);
        (403, Vec::new(), body.into_bytes())
    });
    let e = pass(opts(&server, json!([wstk()])), None)
        .await
        .unwrap_err();
    assert_eq!(e.domain, ErrorDomain::Config);
    let shown = format!("{e} {e:?}");
    assert!(
        shown.contains("403") && shown.contains("API_KEY_INVALID"),
        "{shown}"
    );
    assert!(!shown.contains(KEY), "{shown}");

    // And so does a server that is not there (the URL is in the error).
    let server = Server::start(|_, _| ok(Vec::new()));
    let mut o = opts(&server, json!([wstk()]));
    o["base_url"] = json!("http://127.0.0.1:9/v2");
    o["max_retries"] = json!(0);
    let e = pass(o, None).await.unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("api_key=***"), "{shown}");

    // The options' Debug hides it too.
    let o: qdp_eia::config::Options = serde_json::from_value(json!({ "api_key": KEY })).unwrap();
    assert!(!format!("{o:?}").contains(KEY));
}

#[tokio::test]
async fn a_later_pass_asks_again_for_the_last_n_periods() {
    let server = serving("api_v2/v2_route_petroleum-stoc-wstk_WCESTUS1_weekly.json");
    let first = pass(opts(&server, json!([wstk()])), None).await.unwrap();
    assert!(!server.seen()[0].params.contains_key("start"));
    let ck = first.last().unwrap().checkpoint.clone();
    let state: Value = serde_json::from_slice(ck.as_bytes()).unwrap();
    assert_eq!(state["cursor"], Value::Null, "the pass is complete");

    // Default revisions = 4: from 2024-10-04 back four weeks.
    let again = pass(opts(&server, json!([wstk()])), Some(ck.clone()))
        .await
        .unwrap();
    assert_eq!(server.seen()[1].params["start"], "2024-09-06");
    let periods: Vec<String> = rows(&again)
        .iter()
        .map(|r| r.reference_period.clone())
        .collect();
    assert_eq!(
        periods,
        [
            "2024-09-06",
            "2024-09-13",
            "2024-09-20",
            "2024-09-27",
            "2024-10-04"
        ]
    );

    let mut o = opts(&server, json!([wstk()]));
    o["revisions"] = json!(1);
    let again = pass(o, Some(ck)).await.unwrap();
    assert_eq!(server.seen()[2].params["start"], "2024-09-27");
    assert_eq!(rows(&again).len(), 2);

    // A first load with `start` asks for it.
    let mut o = opts(&server, json!([wstk()]));
    o["start"] = json!("2024-09-20");
    let from_start = pass(o, None).await.unwrap();
    assert_eq!(server.seen()[3].params["start"], "2024-09-20");
    assert_eq!(rows(&from_start).len(), 3);
}

#[tokio::test]
async fn a_pass_cut_short_resumes_at_the_page_it_stopped_before() {
    let server = serving("api_v2/v2_route_natural-gas-pri-fut_RNGC1_daily.json");
    let ng = json!([{ "route": "natural-gas/pri/fut", "frequency": "daily",
                      "facets": { "series": ["RNGC1"] } }]);
    let mut o = opts(&server, ng);
    o["length"] = json!(2000);
    let all = pass(o.clone(), None).await.unwrap();
    // The last batch of the first page: its checkpoint is after page one.
    let first_page_end = all
        .iter()
        .position(|b| b.category == "raw_object")
        .and_then(|i| {
            all[i + 1..]
                .iter()
                .position(|b| b.category == "raw_object")
                .map(|j| i + j)
        })
        .unwrap();
    let ck = all[first_page_end].checkpoint.clone();
    let rest = pass(o, Some(ck)).await.unwrap();
    let offsets: Vec<String> = server.seen()[4..]
        .iter()
        .map(|s| s.params["offset"].clone())
        .collect();
    assert_eq!(offsets, ["2000", "4000", "5000"]);
    assert_eq!(rows(&rest).len(), 3000);

    // A checkpoint that is not this source's is a config error.
    let e = pass(
        opts(&server, json!([wstk()])),
        Some(qdp_sdk::Checkpoint(b"\xffjunk".to_vec())),
    )
    .await
    .unwrap_err();
    assert_eq!(e.domain, ErrorDomain::Config);
}

#[tokio::test]
async fn unreadable_rows_and_pages_go_to_unqualified_with_a_reason() {
    let server =
        Server::start(|s, _| {
            if s.path.contains("broken") {
                return ok(b"<html>maintenance</html>".to_vec());
            }
            ok(br#"{"response":{"total":"3","dateFormat":"YYYY-MM-DD","frequency":"weekly","data":[
            {"period":"2024-10-04","series":"WCESTUS1","value":"12x","units":"MBBL"},
            {"period":"2024-09-27","series":"WCESTUS1","value":"NA","units":"MBBL"},
            {"period":"2024-09-20","series":"WCESTUS1","value":"1,000","units":"MBBL"}]}}"#
            .to_vec())
        });
    let b = pass(
        opts(
            &server,
            json!([wstk(), { "route": "broken/route", "frequency": "weekly" }]),
        ),
        None,
    )
    .await
    .unwrap();
    assert_eq!(rows(&b).len(), 1);
    assert_eq!(rows(&b)[0].value, 1000.0);
    let reasons = texts(
        &b,
        "numeric_economic_data_unqualified",
        "unqualified_reason",
    );
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("`12x` is not a number"), "{reasons:?}");
    assert!(reasons[1].contains("not JSON"), "{reasons:?}");
    let values = texts(
        &b,
        "numeric_economic_data_unqualified",
        "release_field_value",
    );
    assert_eq!(values[0], "12x");
    assert_eq!(count(&b, "raw_object"), 2, "both pages kept as received");
}

/// The runtime drops `next_batch` after 200 ms and calls it again: a slow
/// response must still arrive, from the one request already made.
#[tokio::test]
async fn a_dropped_next_batch_does_not_restart_the_request() {
    use qdp_sdk::Source;
    use std::sync::{Arc, Condvar, Mutex};
    let gate: Arc<(Mutex<bool>, Condvar)> = Arc::default();
    let held = gate.clone();
    let body = real("api_v2/v2_route_petroleum-stoc-wstk_WCESTUS1_weekly.json");
    let server = Server::start(move |s, _| {
        let (open, cv) = &*held;
        let mut open = open.lock().unwrap();
        while !*open {
            open = cv.wait(open).unwrap();
        }
        ok(api_page(&body, s))
    });
    let o = serde_json::from_value(opts(&server, json!([wstk()]))).unwrap();
    let mut src = qdp_eia::Eia::new(o, &qdp_sdk::Context::default()).unwrap();
    src.start(None).await.unwrap();
    let wait = std::time::Duration::from_millis(20);
    // Give up on next_batch until the request is at the server, then a few more times.
    let mut dropped = 0;
    while server.seen().is_empty() || dropped < 5 {
        let r = tokio::time::timeout(wait, src.next_batch()).await;
        assert!(r.is_err(), "nothing can come before the server answers");
        dropped += 1;
    }
    {
        let (open, cv) = &*gate;
        *open.lock().unwrap() = true;
        cv.notify_all();
    }
    let mut batches = Vec::new();
    while let Some(b) = src.next_batch().await.unwrap() {
        batches.push(b);
    }
    assert_eq!(
        server.seen().len(),
        1,
        "one request, however often the wait was dropped"
    );
    assert_eq!(rows(&batches).len(), 2193);
}
