//! The Socrata API, served from the one real recorded row by a real HTTP
//! server on 127.0.0.1 that answers the way Socrata does (`[]` past the end).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use qdp_sdk::raw;
use serde_json::json;

const PAGE: &str = "socrata/socrata_legacy_combined_jun7-fc8e_239747_2024-08-20.json";

#[tokio::test]
async fn socrata_rows_land_on_the_same_canonical_fields() {
    let server = Server::start().await;
    let page = real_bytes(PAGE);
    // Socrata returns nothing newer than the watermark, and nothing past the end.
    server.answer_query("> '2024-08-20T00:00:00.000'", b"[]");
    server.put("/resource/jun7-fc8e.json", page.clone());
    let opts = json!({
        "socrata": {
            "base_url": server.base,
            "datasets": { "legacy": "jun7-fc8e" },
            "app_token": "s3cret-token"
        },
        "contracts": ["239747"]
    });
    let batches = pass(opts.clone(), None).await;
    let nums = numbers(&batches);
    let v = |f: &str| value(&nums, &format!("239747.{f}"), "2024-08-20");
    assert_eq!(v("open_interest_all"), Some(19_404.0));
    // Published as `noncomm_postions_spread_all` (sic) and, for old crop,
    // as `noncomm_positions_spread` with no suffix.
    assert_eq!(v("noncomm_positions_spread_all"), Some(258.0));
    assert_eq!(v("noncomm_positions_spread_old"), Some(258.0));
    assert_eq!(v("noncomm_positions_spread_other"), Some(0.0));
    // `tot_rept_positions_short` (no `_all`), `_1` old.
    assert_eq!(v("tot_rept_positions_short_all"), Some(10_780.0));
    assert_eq!(v("tot_rept_positions_short_old"), Some(10_780.0));
    assert_eq!(v("traders_noncomm_spread_old"), Some(3.0));
    assert_eq!(v("conc_gross_le_4_tdr_long_all"), Some(22.4));
    assert_eq!(nums.len(), 118, "every measure of the row once");
    assert!(
        nums.iter()
            .all(|n| n.system == "cftc_socrata" && n.release_code == "CFTC-COT-LEGACY")
    );
    assert_eq!(nums[0].release_time_ns, ns("2024-08-23T19:30:00Z"));
    assert!(of(&batches, "cftc_cot_unqualified").is_empty());
    assert_eq!(
        column(&batches, "economic_data_releases", "release_code").len(),
        1
    );

    // The page as received, named by its URL; the token is in a header, not the name.
    let raws = raw::from_batch(of(&batches, "raw_object")[0]).unwrap();
    assert_eq!(raws.len(), 1);
    assert_eq!(raws[0].content, page);
    assert!(
        percent_decode(&raws[0].object_name).contains("$limit=5000"),
        "{}",
        raws[0].object_name
    );
    assert!(!raws[0].object_name.contains("s3cret"));
    let asked = server.decoded_requests();
    assert!(
        asked[0].contains("$where=cftc_contract_market_code in ('239747')"),
        "{asked:?}"
    );

    // Next pass from the checkpoint: asks only for later dates, emits nothing.
    let ck = last_checkpoint(&batches, None);
    let again = pass(opts, ck).await;
    assert!(again.is_empty());
    let asked = server.decoded_requests();
    assert!(
        asked
            .last()
            .unwrap()
            .contains("report_date_as_yyyy_mm_dd > '2024-08-20T00:00:00.000'"),
        "{asked:?}"
    );
}

#[tokio::test]
async fn socrata_pages_follow_with_offset_and_errors_are_external() {
    let server = Server::start().await;
    let page = real_bytes(PAGE);
    server.answer_query("$offset=1", b"[]");
    server.put("/resource/jun7-fc8e.json", page);
    let opts = json!({
        "socrata": { "base_url": server.base, "datasets": { "legacy": "jun7-fc8e" }, "page_size": 1 },
        "contracts": []
    });
    let batches = pass(opts, None).await;
    assert_eq!(numbers(&batches).len(), 118);
    let asked = server.decoded_requests();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(asked[1].contains("$offset=1"));

    // Socrata's error objects are not pages.
    server.put(
        "/resource/bad-0000.json",
        br#"{"error":true,"message":"no such column"}"#.to_vec(),
    );
    use qdp_sdk::Source;
    let opts = json!({ "socrata": { "base_url": server.base, "datasets": { "tff": "bad-0000" } } });
    let mut s =
        qdp_cftc::Cftc::new(serde_json::from_value(opts).unwrap(), &Default::default()).unwrap();
    s.start(None).await.unwrap();
    let e = s.next_batch().await.unwrap_err();
    assert_eq!(e.domain, qdp_sdk::ErrorDomain::External);
    assert!(e.message.contains("no such column"), "{}", e.message);
}
