//! The SDK conformance kit against the built `hello` library: what a new
//! connector's tests start from.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use qdp_sdk::conformance;
use qdp_sdk::serde_json::json;

#[test]
fn the_hello_source_conforms() {
    conformance::source(
        conformance::built_library("qdp_hello_source").unwrap(),
        json!({ "count": 1000, "batch_rows": 100 }),
    )
    .bad_options(json!({}))
    .bad_options(json!({ "count": "many" }))
    .empty_options(json!({ "count": 0 }))
    .run()
    .assert_passed();
}
