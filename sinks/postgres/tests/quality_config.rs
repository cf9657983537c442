//! The gates' options: bad ones are config errors naming the key and the
//! fix, before anything runs; the block recommended for the macro-warehouse
//! pipeline parses and passes its checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use qdp_sdk::ErrorDomain;
use qdp_sink_postgres::{PostgresOptions, PostgresSink};
use serde_json::{Value, json};

/// The block the README recommends for examples/pipelines/macro-warehouse.toml.
const RECOMMENDED: &str = r#"
[sinks.warehouse]
type = "postgres"
url = "postgres://postgres@127.0.0.1:5432/warehouse"
gold_sql_dir = "examples/warehouse"
inputs = ["eia_api.numeric_economic_data"]

[sinks.warehouse.quality]
max_unqualified_ratio = 0.05
ratio_min_rows = 20
max_null_ratio = { reference_period = 0.0 }
unqualified_of = { cftc_cot_unqualified = "numeric_economic_data" }
alert_webhook = "${QDP_ALERT_WEBHOOK:-}"

[sinks.warehouse.quality.categories.economic_data_releases]
max_unqualified_ratio = 0.2

[sinks.warehouse.quality.gold."gold.fact_economic_release"]
max_null_ratio = { period_start_date = 0.0, unit_amount = 0.0 }

[sinks.warehouse.quality.gold."gold.us_crude_balance_weekly"]
"#;

#[test]
fn the_recommended_block_parses_and_passes_its_checks() {
    let path = std::path::Path::new("macro-warehouse.toml");
    let cfg = qdp_core::config::parse_pipeline(path, RECOMMENDED, &|_| None).unwrap();
    let sink = cfg.components.iter().find(|c| c.id == "warehouse").unwrap();
    let o: PostgresOptions = serde_json::from_value(sink.options.clone()).unwrap();
    assert_eq!(o.quality.gold.len(), 2);
    assert!(
        o.quality
            .alert_webhook
            .as_ref()
            .is_some_and(|u| u.0.is_empty())
    );
    PostgresSink::from_options(o).unwrap();
}

#[test]
fn bad_gates_are_config_errors_naming_the_key() {
    let url = "postgres://postgres@127.0.0.1:5432/x";
    let bad = |quality: Value, extra: Value| -> String {
        let mut o = json!({ "url": url, "quality": quality });
        if let (Some(o), Some(extra)) = (o.as_object_mut(), extra.as_object()) {
            o.extend(extra.clone());
        }
        let o: PostgresOptions = serde_json::from_value(o).unwrap();
        let e = PostgresSink::from_options(o).err().expect("accepted");
        assert_eq!(e.domain, ErrorDomain::Config, "{e}");
        e.message
    };
    let m = bad(json!({ "max_unqualified_ratio": 20 }), json!({}));
    assert!(
        m.starts_with("quality.max_unqualified_ratio: 20 is not a ratio") && m.contains("from 0"),
        "{m}"
    );
    let m = bad(
        json!({ "max_null_ratio": { "referance_period": 0.5 } }),
        json!({}),
    );
    assert!(
        m.contains("quality.max_null_ratio.referance_period")
            && m.contains("no category schema has"),
        "{m}"
    );
    let m = bad(
        json!({ "max_null_ratio": { "release_code": 0.5 } }),
        json!({}),
    );
    assert!(m.contains("NOT NULL in every category"), "{m}");
    let m = bad(
        json!({ "categories": { "numeric_economic_data": { "max_null_ratio": { "release_field_value": 0.1 } } } }),
        json!({}),
    );
    assert!(
        m.contains("quality.categories.numeric_economic_data.max_null_ratio.release_field_value")
            && m.contains("reference_period"),
        "{m}"
    );
    let m = bad(
        json!({ "categories": { "numeric_data": { "max_unqualified_ratio": 0.1 } } }),
        json!({}),
    );
    assert!(
        m.contains("quality.categories.numeric_data") && m.contains("numeric_economic_data"),
        "{m}"
    );
    let m = bad(
        json!({ "categories": { "numeric_economic_data": { "max_unqualified_ratio": -0.1 } } }),
        json!({}),
    );
    assert!(
        m.contains("quality.categories.numeric_economic_data.max_unqualified_ratio"),
        "{m}"
    );
    let m = bad(
        json!({ "unqualified_of": { "cftc_cot": "numeric_economic_data" } }),
        json!({}),
    );
    assert!(m.contains("quality.unqualified_of.cftc_cot"), "{m}");
    let m = bad(
        json!({ "gold": { "gold.us_crude_balance_weekly": { "min_rows": 1 } } }),
        json!({}),
    );
    assert!(
        m.contains("quality.gold") && m.contains("set gold_sql_dir"),
        "{m}"
    );
    let m = bad(
        json!({ "gold": { "us_crude_balance_weekly": {} } }),
        json!({ "gold_sql_dir": "/tmp" }),
    );
    assert!(m.contains("\"gold.<view>\""), "{m}");
    let m = bad(
        json!({ "alert_webhook": "hooks.example.com/x?token=s3cret" }),
        json!({}),
    );
    assert!(
        m.contains("quality.alert_webhook") && !m.contains("s3cret"),
        "{m}"
    );
    // Unknown keys are refused by the options' types.
    let o = json!({ "url": url, "quality": { "max_unqualified": 0.1 } });
    assert!(serde_json::from_value::<PostgresOptions>(o).is_err());
}
