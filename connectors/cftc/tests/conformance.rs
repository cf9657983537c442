//! The SDK's conformance kit against the built plugin library.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use qdp_sdk::conformance;
use serde_json::json;

#[test]
fn the_cftc_source_keeps_the_plugin_contracts() {
    let lib = conformance::built_library("qdp_cftc").unwrap();
    let file = common::real("legacy_futonly_2025_annual_snapshot_20250314.txt");
    conformance::source(
        lib,
        json!({ "files": [{ "family": "legacy", "path": file }], "batch_size": 100 }),
    )
    .bad_options(json!({ "batch_size": 0 }))
    .bad_options(json!({ "contracts": ["67651"] }))
    .bad_options(json!({ "files": [{ "family": "legacy" }] }))
    .bad_options(json!({ "files": [{ "family": "cot", "path": file }] }))
    .bad_options(json!({ "files": [{ "family": "legacy", "url": "ftp://x/y.zip" }] }))
    .bad_options(json!({ "socrata": { "datasets": { "legacy": "6dca aqww'" } } }))
    .bad_options(json!({ "since": "2025-13-01" }))
    .empty_options(json!({}))
    .run()
    .assert_passed();
}
