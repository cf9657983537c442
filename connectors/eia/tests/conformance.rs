//! The SDK conformance kit against the built `eia` library, in API mode
//! against a loopback server serving real EIA responses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, api_page, ok, real};
use qdp_sdk::conformance;
use serde_json::json;

#[test]
fn eia_passes_the_conformance_kit() {
    let wstk = real("api_v2/v2_route_petroleum-stoc-wstk_WCESTUS1_weekly.json");
    let pipe = real("api_v2/v2_route_petroleum-move-pipe_MD0MP_R10-R20_1_monthly.json");
    let server = Server::start(move |s, _| {
        if s.path.contains("pipe") {
            ok(api_page(&pipe, s))
        } else {
            ok(api_page(&wstk, s))
        }
    });
    let base = format!("{}/v2", server.base);
    let series = json!([
        { "route": "petroleum/stoc/wstk", "facets": { "series": ["WCESTUS1"] },
          "release_code": "EIA-WPSR", "release_calendar": "eia_wpsr" },
        { "route": "petroleum/move/pipe", "frequency": "monthly",
          "facets": { "series": ["MD0MP_R10-R20_1"] } }
    ]);
    let lib = conformance::built_library("qdp_eia").unwrap();
    conformance::source(
        lib,
        json!({ "api_key": "k", "base_url": base, "series": series, "min_interval": "1ms" }),
    )
    .bad_options(json!({ "mode": "api_v2" }))
    .bad_options(json!({ "api_key": "k", "length": 6000 }))
    .bad_options(json!({ "api_key": "k", "min_interval": "soon" }))
    .bad_options(json!({ "api_key": "k", "series": [{ "frequency": "weekly" }] }))
    .bad_options(
        json!({ "api_key": "k", "series": [{ "route": "a/b", "release_calendar": "ecb" }] }),
    )
    .bad_options(json!({ "mode": "wpsr_csv", "api_key": "k" }))
    .bad_options(json!({ "mode": "wpsr_csv", "urls": ["ftp://x/table1.csv"] }))
    .empty_options(json!({ "api_key": "k", "base_url": base, "series": [] }))
    .run()
    .assert_passed();
}
