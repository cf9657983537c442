//! The yearly files, zipped in the test and served by a real HTTP server
//! on 127.0.0.1, read as the CFTC publishes them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use qdp_sdk::raw;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

const DISAGG: &str = "disagg_futonly_2021Q1_f_year.txt";
const LEGACY_0113: &str = "legacy_futonly_2025_annual_snapshot_20250113.txt";
const LEGACY_0314: &str = "legacy_futonly_2025_annual_snapshot_20250314.txt";
const TFF: &str = "tff_futonly_2021_FinFutYY.txt";

#[tokio::test]
async fn disaggregated_zip_over_http_gives_the_published_wti_numbers() {
    let server = Server::start().await;
    let zip = zipped("f_year.txt", &real_bytes(DISAGG));
    server.put("/files/dea/history/fut_disagg_txt_2021.zip", zip.clone());
    let url = server.url("/files/dea/history/fut_disagg_txt_2021.zip");
    let batches = pass(
        json!({ "files": [{ "family": "disaggregated", "url": url }] }),
        None,
    )
    .await;

    // raw_object: the zip exactly as served, named by its URL.
    let raws: Vec<_> = of(&batches, "raw_object")
        .into_iter()
        .flat_map(|b| raw::from_batch(b).unwrap())
        .collect();
    assert_eq!(raws.len(), 1);
    assert_eq!(raws[0].content, zip);
    assert_eq!(raws[0].object_name, url);
    assert_eq!(raws[0].extension, "zip");

    let nums = numbers(&batches);
    // Read by eye from the file: WTI on 2021-03-16.
    assert_eq!(
        value(&nums, "067651.open_interest_all", "2021-03-16"),
        Some(2_523_179.0)
    );
    assert_eq!(
        value(&nums, "067651.prod_merc_positions_long_all", "2021-03-16"),
        Some(549_736.0)
    );
    assert_eq!(
        value(&nums, "067651.tot_rept_positions_long_all", "2021-03-16"),
        Some(2_414_895.0)
    );
    assert_eq!(
        value(&nums, "067651.pct_of_oi_m_money_long_all", "2021-03-16"),
        Some(16.5)
    );
    assert_eq!(
        value(&nums, "067651.traders_tot_all", "2021-03-16"),
        Some(365.0)
    );
    assert_eq!(
        value(&nums, "067651.open_interest_all", "2021-03-09"),
        Some(2_494_636.0)
    );
    // The publisher's `Swap__Positions_Short_All` lands on one canonical name.
    assert!(value(&nums, "067651.swap_positions_short_all", "2021-03-16").is_some());
    let unit = |f: &str| nums.iter().find(|n| n.field == f).unwrap().unit.clone();
    assert_eq!(unit("067651.open_interest_all"), "1_contracts");
    assert_eq!(unit("067651.traders_tot_all"), "1_traders");
    assert_eq!(unit("067651.pct_of_oi_m_money_long_all"), "1_percent");
    // '.' (fewer than four traders) is skipped, not loaded as a number:
    // ULSD's swap-dealer short trader count is '.' every week of the file.
    assert_eq!(
        value(&nums, "022651.traders_swap_short_all", "2021-03-16"),
        None
    );
    assert!(value(&nums, "022651.traders_swap_long_all", "2021-03-16").is_some());
    // 4 contracts x 11 weeks x 178 measures, less the 18 '.' cells.
    assert_eq!(nums.len(), 44 * 178 - 18);
    let contracts: BTreeSet<&str> = nums.iter().map(|n| &n.field[..6]).collect();
    assert_eq!(
        contracts,
        BTreeSet::from(["022651", "023651", "067651", "111659"])
    );

    let wti = nums
        .iter()
        .find(|n| n.field == "067651.open_interest_all")
        .unwrap();
    assert_eq!(wti.publisher, "CFTC");
    assert_eq!(wti.release_code, "CFTC-COT-DISAGG");
    assert_eq!(wti.system, "cftc_cot_files");
    assert_eq!(wti.component, "cot");
    // Tuesday 2021-03-16's report came out Friday 2021-03-19 15:30 New York (EDT).
    let first = nums.iter().find(|n| n.period == "2021-03-16").unwrap();
    assert_eq!(first.release_time_ns, ns("2021-03-19T19:30:00Z"));

    // One release edition per report date.
    let content = column(&batches, "economic_data_releases", "release_content");
    assert_eq!(content.len(), 11);
    assert!(
        content
            .iter()
            .any(|c| c.as_deref().unwrap().contains("2021-03-16")),
        "{content:?}"
    );
    assert!(of(&batches, "cftc_cot_unqualified").is_empty());
}

#[tokio::test]
async fn the_grown_yearly_file_emits_only_new_report_dates() {
    let server = Server::start().await;
    let path = "/files/dea/history/deacot2025.zip";
    let url = server.url(path);
    let opts = json!({ "files": [{ "family": "legacy", "url": url }], "contracts": [] });

    server.put(path, zipped("annual.txt", &real_bytes(LEGACY_0113)));
    let first = pass(opts.clone(), None).await;
    let first_nums = numbers(&first);
    let periods: BTreeSet<_> = first_nums.iter().map(|n| n.period.clone()).collect();
    assert_eq!(periods, BTreeSet::from(["2025-01-07".to_string()]));
    assert_eq!(
        value(&first_nums, "067651.open_interest_all", "2025-01-07"),
        Some(1_958_411.0)
    );
    let ck = last_checkpoint(&first, None);

    // The same file again: nothing at all.
    let again = pass(opts.clone(), ck.clone()).await;
    assert!(
        again.is_empty(),
        "{} batches from an unchanged file",
        again.len()
    );

    // The file grew (the 03-14 snapshot): only the nine new report dates.
    server.put(path, zipped("annual.txt", &real_bytes(LEGACY_0314)));
    let grown = pass(opts.clone(), ck.clone()).await;
    let grown_nums = numbers(&grown);
    let periods: BTreeSet<_> = grown_nums.iter().map(|n| n.period.as_str()).collect();
    assert_eq!(periods.len(), 9);
    assert!(!periods.contains("2025-01-07"));
    assert_eq!(
        value(&grown_nums, "067651.open_interest_all", "2025-03-11"),
        Some(1_793_310.0)
    );
    assert_eq!(
        column(&grown, "economic_data_releases", "release_code").len(),
        9
    );
    assert_eq!(of(&grown, "raw_object").len(), 1);
    // Consolidated markets are off by one in 7 rows of this file, within
    // their tolerance: nothing is rejected.
    assert!(of(&grown, "cftc_cot_unqualified").is_empty());
    let after_growth = last_checkpoint(&grown, ck.clone());
    assert!(pass(opts.clone(), after_growth).await.is_empty());

    // The 01-13 rows are a subset of the 03-14 file's, value for value.
    let full = numbers(&pass(opts.clone(), None).await);
    let week = |nums: &[Num]| -> BTreeMap<String, u64> {
        nums.iter()
            .filter(|n| n.period == "2025-01-07")
            .map(|n| (n.field.clone(), n.value.to_bits()))
            .collect()
    };
    assert_eq!(week(&first_nums), week(&full));
    assert_eq!(full.len(), first_nums.len() + grown_nums.len());

    // revisions = 1: the newest loaded date comes again with the new ones.
    let mut with_rev = opts.clone();
    with_rev["revisions"] = json!(1);
    let rev = numbers(&pass(with_rev, ck).await);
    let periods: BTreeSet<_> = rev.iter().map(|n| n.period.as_str()).collect();
    assert_eq!(periods.len(), 10);
    assert_eq!(week(&rev), week(&first_nums));
}

#[tokio::test]
async fn the_wti_key_does_not_change_with_its_name() {
    let disagg = std::fs::read_to_string(real(DISAGG)).unwrap();
    let legacy = std::fs::read_to_string(real(LEGACY_0314)).unwrap();
    assert!(disagg.contains("\"CRUDE OIL, LIGHT SWEET - NEW YORK MERCANTILE EXCHANGE\",210316"));
    assert!(legacy.contains("\"WTI-PHYSICAL - NEW YORK MERCANTILE EXCHANGE\",250311"));
    let only_wti = |family: &str, file: &str| json!({ "files": [{ "family": family, "path": real(file) }], "contracts": ["067651"] });
    let a = numbers(&pass(only_wti("disaggregated", DISAGG), None).await);
    let b = numbers(&pass(only_wti("legacy", LEGACY_0314), None).await);
    assert!(value(&a, "067651.open_interest_all", "2021-03-16").is_some());
    assert!(value(&b, "067651.open_interest_all", "2025-03-11").is_some());
    assert!(a.iter().chain(&b).all(|n| n.field.starts_with("067651.")));
}

#[tokio::test]
async fn crlf_and_lf_files_read_the_same() {
    let lf = real_bytes(LEGACY_0113);
    assert!(!lf.contains(&b'\r'));
    let crlf = String::from_utf8(lf.clone()).unwrap().replace('\n', "\r\n");
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("lf.txt"), dir.path().join("crlf.zip"));
    std::fs::write(&a, &lf).unwrap();
    std::fs::write(&b, zipped("annual.txt", crlf.as_bytes())).unwrap();
    let read = |p: &std::path::Path| json!({ "files": [{ "family": "legacy", "path": p.to_str().unwrap() }], "contracts": [] });
    let strip = |v: Vec<Num>| -> Vec<(String, String, u64)> {
        v.into_iter()
            .map(|n| (n.field, n.period, n.value.to_bits()))
            .collect()
    };
    let from_lf = strip(numbers(&pass(read(&a), None).await));
    let from_crlf = strip(numbers(&pass(read(&b), None).await));
    assert!(from_lf.len() > 30_000, "{}", from_lf.len());
    assert_eq!(from_lf, from_crlf);
    // CRLF disaggregated file: the last column of each line has no stray \r.
    let d = numbers(
        &pass(
            json!({ "files": [{ "family": "disaggregated", "path": real(DISAGG) }] }),
            None,
        )
        .await,
    );
    assert!(value(&d, "067651.conc_net_le_8_tdr_short_other", "2021-03-16").is_some());
}

#[tokio::test]
async fn tff_e_mini_sp500_and_the_consolidated_tolerance() {
    let opts =
        json!({ "files": [{ "family": "tff", "path": real(TFF) }], "contracts": ["13874A"] });
    let batches = pass(opts, None).await;
    let nums = numbers(&batches);
    assert_eq!(
        value(&nums, "13874A.open_interest_all", "2021-12-28"),
        Some(2_287_852.0)
    );
    assert_eq!(
        value(&nums, "13874A.dealer_positions_long_all", "2021-12-28"),
        Some(163_720.0)
    );
    assert_eq!(
        value(&nums, "13874A.traders_tot_all", "2021-12-28"),
        Some(498.0)
    );
    assert!(nums.iter().all(|n| n.release_code == "CFTC-COT-TFF"));
    assert_eq!(
        column(&batches, "economic_data_releases", "release_code").len(),
        52
    );

    // Every market: 39 "Consolidated" rows are off by one, none rejected.
    let all = pass(
        json!({ "files": [{ "family": "tff", "path": real(TFF) }], "contracts": [] }),
        None,
    )
    .await;
    assert!(of(&all, "cftc_cot_unqualified").is_empty());
    // DJIA Consolidated, 2021-12-21: 1 below the sum of its parts, loaded.
    assert!(value(&numbers(&all), "12460+.open_interest_all", "2021-12-21").is_some());
}

#[tokio::test]
async fn rows_that_cannot_be_read_go_to_unqualified_with_the_reason() {
    let text = std::fs::read_to_string(real(LEGACY_0113)).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let wti = lines.iter().position(|l| l.contains(",067651,")).unwrap();
    let ng = lines.iter().position(|l| l.contains(",023651,")).unwrap();
    let rb = lines.iter().position(|l| l.contains(",111659,")).unwrap();
    // WTI's open interest one contract too high: the sum no longer holds.
    lines[wti] = lines[wti].replacen(" 1958411,", " 1958412,", 1);
    // A malformed number in natural gas's non-commercial long.
    let fields: Vec<&str> = lines[ng].splitn(10, ',').collect();
    let ng_bad = format!("{},{},12x4,{}", fields[..7].join(","), fields[7], fields[9]);
    lines[ng] = ng_bad;
    // RBOB cut short.
    lines[rb] = lines[rb].rsplitn(3, ',').last().unwrap().to_string();
    lines.push(lines[wti].replacen("2025-01-07", "2025-13-07", 1));
    lines.push(lines[1].replacen(",001602,", ",00-602,", 1));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("annual.txt");
    std::fs::write(&p, lines.join("\n")).unwrap();

    let batches = pass(
        json!({ "files": [{ "family": "legacy", "path": p.to_str().unwrap() }] }),
        None,
    )
    .await;
    let reasons = column(&batches, "cftc_cot_unqualified", "unqualified_reason");
    let codes = column(
        &batches,
        "cftc_cot_unqualified",
        "cftc_contract_market_code",
    );
    let cols = column(&batches, "cftc_cot_unqualified", "column_name");
    let records = column(&batches, "cftc_cot_unqualified", "record");
    let find = |needle: &str| {
        reasons
            .iter()
            .position(|r| r.as_deref().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("no reason with `{needle}` in {reasons:?}"))
    };
    let i = find("open interest 1958412");
    assert_eq!(codes[i].as_deref(), Some("067651"));
    assert!(records[i].as_deref().unwrap().contains("1958412"));
    let i = find("`12x4`");
    assert_eq!(codes[i].as_deref(), Some("023651"));
    assert_eq!(
        cols[i].as_deref(),
        Some("Noncommercial Positions-Long (All)")
    );
    find("127 fields, the header has 129");
    find("report date `2025-13-07`");
    find("contract market code `00-602`");
    assert_eq!(reasons.len(), 5, "{reasons:?}");

    let nums = numbers(&batches);
    // Nothing of the rejected WTI row is loaded; natural gas loses one value.
    assert!(nums.iter().all(|n| !n.field.starts_with("067651.")));
    assert!(nums.iter().all(|n| !n.field.starts_with("111659.")));
    assert_eq!(
        value(&nums, "023651.noncomm_positions_long_all", "2025-01-07"),
        None
    );
    assert!(value(&nums, "023651.open_interest_all", "2025-01-07").is_some());
    assert_eq!(
        nums.iter()
            .filter(|n| n.field.starts_with("023651."))
            .count(),
        117
    );
}

#[tokio::test]
async fn a_missing_file_is_an_external_error_and_a_bad_zip_a_reject() {
    let server = Server::start().await;
    let ctx = qdp_sdk::Context::default();
    use qdp_sdk::Source;
    let opts = json!({ "files": [{ "family": "legacy", "url": server.url("/nope.zip") }] });
    let mut s = qdp_cftc::Cftc::new(serde_json::from_value(opts).unwrap(), &ctx).unwrap();
    s.start(None).await.unwrap();
    let e = s.next_batch().await.unwrap_err();
    assert_eq!(e.domain, qdp_sdk::ErrorDomain::External);
    assert!(e.message.contains("404"), "{}", e.message);

    let mut two = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for n in ["a.txt", "b.txt"] {
        two.start_file(n, zip::write::SimpleFileOptions::default())
            .unwrap();
    }
    server.put("/two.zip", two.finish().unwrap().into_inner());
    let b = pass(
        json!({ "files": [{ "family": "legacy", "url": server.url("/two.zip") }] }),
        None,
    )
    .await;
    let reasons = column(&b, "cftc_cot_unqualified", "unqualified_reason");
    assert_eq!(reasons.len(), 1);
    assert!(
        reasons[0].as_deref().unwrap().contains("a.txt, b.txt"),
        "{reasons:?}"
    );
    assert_eq!(of(&b, "raw_object").len(), 1);
}

#[tokio::test]
async fn a_pass_stopped_inside_a_file_resumes_after_the_last_delivered_batch() {
    let opts = json!({
        "files": [{ "family": "legacy", "path": real(LEGACY_0314) }],
        "batch_size": 500
    });
    let full = pass(opts.clone(), None).await;
    assert!(full.len() >= 6, "{} batches", full.len());
    let total_values = numbers(&full).len();
    // Delivered up to the third batch (raw_object and two numeric batches).
    let resumed = pass(opts.clone(), Some(full[2].checkpoint.clone())).await;
    assert_eq!(resumed.len(), full.len() - 3);
    let seen: usize = full[..3]
        .iter()
        .map(|b| {
            if b.category == "numeric_economic_data" {
                b.data.num_rows()
            } else {
                0
            }
        })
        .sum();
    assert_eq!(numbers(&resumed).len() + seen, total_values);
    assert!(of(&resumed, "raw_object").is_empty());
    assert_eq!(
        resumed.last().unwrap().checkpoint,
        full.last().unwrap().checkpoint,
        "the same watermark at the end"
    );
    // A checkpoint that is not ours is a config error.
    use qdp_sdk::Source;
    let mut s =
        qdp_cftc::Cftc::new(serde_json::from_value(opts).unwrap(), &Default::default()).unwrap();
    let e = s
        .start(Some(qdp_sdk::Checkpoint(b"{\"offset\":3}".to_vec())))
        .await
        .unwrap_err();
    assert_eq!(e.domain, qdp_sdk::ErrorDomain::Config);
}

#[tokio::test]
async fn year_in_the_address_is_the_year_of_the_latest_report() {
    let server = Server::start().await;
    let year = qdp_cftc::current_year();
    let path = format!("/files/dea/history/deacot{year}.zip");
    server.put(&path, zipped("annual.txt", &real_bytes(LEGACY_0113)));
    let url = server.url("/files/dea/history/deacot{year}.zip");
    let b = pass(
        json!({ "files": [{ "family": "legacy", "url": url }] }),
        None,
    )
    .await;
    assert_eq!(server.decoded_requests(), vec![path]);
    assert!(!numbers(&b).is_empty());
    let this_year = chrono::Datelike::year(&chrono::Utc::now());
    assert!(year == this_year || year == this_year - 1, "{year}");
}
