//! The SDK conformance kit against the built `stdout` library.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use qdp_sdk::conformance::{self, Outcome};
use serde_json::json;

#[test]
fn the_stdout_sink_conforms() {
    let report = conformance::sink(
        conformance::built_library("qdp_sink_stdout").unwrap(),
        json!({ "format": "ndjson", "max_rows_per_batch": 2 }),
    )
    .bad_options(json!({ "format": "yaml" }))
    .bad_options(json!({ "max_rows_per_batch": -1 }))
    .run();
    report.assert_passed();
    assert!(
        matches!(report.outcome("replay"), Some(Outcome::Skipped(_))),
        "stdout cannot be idempotent and must not claim it"
    );
}
