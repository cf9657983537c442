//! The SDK conformance kit against the built `market_sim` library.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use qdp_sdk::conformance::{self, Outcome};
use serde_json::json;

#[test]
fn the_market_simulator_conforms() {
    let report = conformance::source(
        conformance::built_library("qdp_market_sim").unwrap(),
        json!({ "seed": 5, "rate": 0, "batch_size": 250, "max_ticks": 3000, "invalid_ratio": 0.01 }),
    )
    .bad_options(json!({ "batch_size": 0 }))
    .bad_options(json!({ "symbols": ["XX"] }))
    .bad_options(json!({ "bursts": [{ "start_s": 1, "duration_s": 1, "multiplier": -3 }] }))
    .empty_options(json!({ "max_ticks": 0, "rate": 0 }))
    .run();
    report.assert_passed();
    for check in ["resume", "replay", "empty_input"] {
        assert_eq!(report.outcome(check), Some(&Outcome::Passed), "{check}");
    }
}
