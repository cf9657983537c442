//! Dataset naming per sink type.

use super::*;
use qdp_core::config::PipelineConfig;

fn pipeline(text: &str) -> PipelineConfig {
    let path = std::path::Path::new("t.toml");
    qdp_core::config::parse_pipeline(path, text, &|_| None).unwrap_or_else(|e| panic!("{e}"))
}

fn names(cfg: &PipelineConfig, sink: &str, category: &str, origin: &str) -> Vec<String> {
    let s = cfg
        .components
        .iter()
        .find(|c| c.id == sink)
        .unwrap_or_else(|| panic!("{sink}"));
    let stream = Stream {
        category: category.into(),
        origin: origin.into(),
    };
    written_for(cfg, s, &stream)
        .into_iter()
        .map(|d| d.name)
        .collect()
}

#[test]
fn topics_follow_the_kafka_sink_template_and_overrides() {
    let cfg = pipeline(
        r#"
[sources.ibkr]
type = "websocket"
url = "wss://x"
preset = "ibkr_cpapi"
[sinks.cat]
type = "kafka"
inputs = ["ibkr.ticks"]
brokers = "k:9092"
[sinks.raw]
type = "kafka"
inputs = ["ibkr.ticks"]
brokers = "k:9092"
topic = "{source_system}.{category}"
[sinks.raw.categories.raw_ibkr_cpapi_quotes]
topic = "quotes-raw"
"#,
    );
    assert_eq!(
        names(&cfg, "cat", "derivatives_tick_market_data", "ibkr"),
        vec!["derivatives_tick_market_data"]
    );
    assert_eq!(
        names(
            &cfg,
            "cat",
            "derivatives_tick_market_data_unqualified",
            "ibkr"
        ),
        vec!["derivatives_tick_market_data_unqualified"]
    );
    assert_eq!(
        names(&cfg, "raw", "raw_ibkr_cpapi_ticks", "ibkr"),
        vec!["ibkr_cpapi.raw_ibkr_cpapi_ticks"]
    );
    assert_eq!(
        names(&cfg, "raw", "raw_ibkr_cpapi_quotes", "ibkr"),
        vec!["quotes-raw"]
    );
}

#[test]
fn tables_as_each_sink_names_them() {
    let cfg = pipeline(
        r#"
[pipeline]
data_dir = "/srv/q"
[sources.drop]
type = "files"
folder = "/d"
datasets = { clients = "c*.csv" }
[sinks.pg]
type = "postgres"
inputs = ["drop.bronze_clients"]
url = "postgres://u:pw@h/w"
silver_schema = "s"
[sinks.ch]
type = "clickhouse"
inputs = ["drop"]
url = "http://h:8123"
database = "rt"
[sinks.ice]
type = "iceberg"
inputs = ["drop"]
[sinks.lake]
type = "lake"
inputs = ["drop.raw_object"]
url = "file:///lake"
"#,
    );
    assert_eq!(
        names(&cfg, "pg", "bronze_clients", "drop"),
        vec!["bronze.clients"]
    );
    assert_eq!(
        names(&cfg, "pg", "client_accounts", "drop"),
        vec!["s.client_accounts"]
    );
    assert_eq!(
        names(&cfg, "pg", "raw_object", "drop"),
        vec!["bronze.raw_object"]
    );
    assert_eq!(
        names(&cfg, "ch", "client_accounts", "drop"),
        vec!["rt.client_accounts", "rt.client_accounts_latest"]
    );
    assert_eq!(
        names(&cfg, "ch", "bronze_clients", "drop"),
        vec!["rt.bronze_clients"]
    );
    assert_eq!(
        names(&cfg, "ice", "client_accounts_unqualified", "drop"),
        vec!["history.client_accounts_unqualified"]
    );
    assert_eq!(
        names(&cfg, "ice", "bronze_clients", "drop"),
        vec!["history.bronze_clients"],
        "raw categories get a table shaped after their batches"
    );
    assert_eq!(
        names(&cfg, "lake", "raw_object", "drop"),
        vec!["file:///lake/files"]
    );
    let pg = cfg
        .components
        .iter()
        .find(|c| c.id == "pg")
        .unwrap_or_else(|| panic!("pg"));
    let created: Vec<String> = created_by(pg).into_iter().map(|d| d.name).collect();
    assert!(created.contains(&"ops.schema_migrations".to_string()));
    assert!(created.contains(&"s.derivatives_tick_market_data".to_string()));
    let d = &written_for(
        &cfg,
        pg,
        &Stream {
            category: "raw_object".into(),
            origin: "drop".into(),
        },
    )[0];
    assert!(!d.location.contains("pw"), "{}", d.location);
}
