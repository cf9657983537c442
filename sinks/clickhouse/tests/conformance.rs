//! The SDK conformance kit against the built `clickhouse` library and a real
//! clickhouse-server; rows are read back as `count()` with FINAL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use qdp_sdk::conformance;
use qdp_test_services::ClickHouse;
use serde_json::json;
use std::rc::Rc;

#[test]
fn the_clickhouse_sink_conforms() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let ch = Rc::new(ch);
    let url = ch.url();
    let server = Rc::clone(&ch);
    conformance::sink(
        conformance::built_library("qdp_sink_clickhouse").unwrap(),
        json!({ "url": url, "database": "conformance" }),
    )
    .bad_options(json!({ "database": "conformance" }))
    .bad_options(json!({ "url": "ftp://127.0.0.1:1" }))
    .bad_options(json!({ "url": "http://bob:secret@127.0.0.1:1" }))
    .bad_options(json!({ "url": url, "retention_days": 0 }))
    .bad_options(json!({ "url": url, "insert_timeout": "soon" }))
    .read_back(move || {
        match server.query("SELECT count() FROM conformance.conformance_sample FINAL") {
            Ok(n) => n.trim().parse::<u64>().map_err(|e| e.to_string()),
            // Nothing written yet: the table does not exist (code 60).
            Err(e) if e.contains("Code: 60") => Ok(0),
            Err(e) => Err(e),
        }
    })
    .run()
    .assert_passed();
}
