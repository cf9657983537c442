//! The catalogue of the example pipelines, built from the files alone:
//! every category schema and every component is in it, the realtime lane's
//! two pipelines are linked through their Kafka topics, every dataset of
//! the macro pipeline has a lineage path back to a source system, client
//! PII is flagged from bronze to gold, and no secret reaches the output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use qdp_catalog::model::{Catalog, Dataset, NodeKind, Store};
use qdp_catalog::{Sources, build, graph};
use qdp_core::Registry;
use std::path::{Path, PathBuf};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn pipelines() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(examples().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

fn catalog() -> Catalog {
    let registry = Registry::with_builtins();
    build(&Sources {
        pipelines: pipelines(),
        gold_sql: None,
        registry: &registry,
    })
    .unwrap()
}

fn ds<'a>(c: &'a Catalog, store: Store, name: &str) -> &'a Dataset {
    c.datasets
        .iter()
        .find(|d| d.store == store && d.name == name)
        .unwrap_or_else(|| {
            panic!(
                "{name} not in the catalogue: {:?}",
                c.datasets.iter().map(|d| &d.id).collect::<Vec<_>>()
            )
        })
}

#[test]
fn every_category_and_component_is_catalogued() {
    let c = catalog();
    for s in qdp_sdk::schema::registry().all() {
        let entry = c.categories.iter().find(|x| x.name == s.name).unwrap();
        assert_eq!(entry.fields.len(), s.fields.len());
        assert_eq!(entry.owner, s.owner);
    }
    assert_eq!(c.pipelines.len(), pipelines().len());
    for p in pipelines() {
        let cfg = qdp_catalog::load::read_pipeline(&p).unwrap();
        let entry = c.pipelines.iter().find(|x| x.name == cfg.name).unwrap();
        for comp in &cfg.components {
            let e = entry.components.iter().find(|x| x.id == comp.id).unwrap();
            assert!(
                c.nodes.iter().any(|n| n.id == e.node),
                "{} has no node",
                e.node
            );
        }
    }
}

#[test]
fn macro_datasets_lead_back_to_a_source_system() {
    let c = catalog();
    let macro_sets: Vec<&Dataset> = c
        .datasets
        .iter()
        .filter(|d| d.pipelines.iter().any(|p| p == "macro-warehouse"))
        .collect();
    assert!(macro_sets.len() > 20, "{}", macro_sets.len());
    for d in macro_sets {
        let path = graph::path_from_source(&c, &d.id)
            .unwrap_or_else(|| panic!("{} has no path to a source", d.id));
        let first = c.nodes.iter().find(|n| n.id == path[0]).unwrap();
        assert_eq!(first.kind, NodeKind::SourceSystem);
        // Only a table the sink creates without writing to it (its
        // migrations make every category table) has no source system.
        let only_created = c
            .edges
            .iter()
            .filter(|e| e.to == d.id)
            .all(|e| e.label == "creates");
        assert_eq!(d.source_systems.is_empty(), only_created, "{}", d.id);
    }
    let fact = ds(&c, Store::Postgres, "gold.fact_economic_release");
    assert_eq!(fact.layer, "gold");
    assert!(
        fact.upstream
            .iter()
            .any(|u| u == "postgres:silver.numeric_economic_data"),
        "{:?}",
        fact.upstream
    );
    assert!(
        fact.source_systems.iter().any(|s| s == "system:eia_api_v2"),
        "{:?}",
        fact.source_systems
    );
    // Per dataset, not per processor: the client tables come from the drop folder alone.
    assert_eq!(
        ds(&c, Store::Postgres, "gold.client_contact").source_systems,
        vec!["system:files"]
    );
}

#[test]
fn client_pii_is_flagged_from_bronze_to_gold() {
    let c = catalog();
    let silver = ds(&c, Store::Postgres, "silver.client_accounts");
    assert_eq!(silver.classification.name(), "confidential");
    assert_eq!(silver.pii_fields(), vec!["contact_name", "contact_email"]);
    let contact = ds(&c, Store::Postgres, "gold.client_contact");
    assert_eq!(contact.pii_fields(), vec!["contact_name", "contact_email"]);
    let dim = ds(&c, Store::Postgres, "gold.dim_client");
    assert!(dim.pii_fields().is_empty());
    assert_eq!(dim.classification.name(), "confidential");
    let bronze = ds(&c, Store::Postgres, "bronze.clients");
    assert_eq!(bronze.classification.name(), "confidential");
    assert_eq!(bronze.owner.as_deref(), Some("client-services"));
    assert!(!bronze.pii_fields().is_empty(), "{:?}", bronze.fields);
    // The raw client files in the lake hold the contact columns whole:
    // a document is as sensitive as the most sensitive field in it.
    let lake = c
        .datasets
        .iter()
        .find(|d| d.store == Store::Lake && d.name.ends_with("/files"))
        .unwrap();
    assert_eq!(lake.classification.name(), "pii");
    let eia_lake = c
        .datasets
        .iter()
        .find(|d| d.store == Store::Lake && d.name.ends_with("/eia_api_v2"))
        .unwrap();
    assert_eq!(eia_lake.classification.name(), "internal");
    let eia = ds(&c, Store::Postgres, "silver.numeric_economic_data");
    assert_eq!(eia.classification.name(), "public");
}

#[test]
fn realtime_pipelines_meet_in_their_topics() {
    let c = catalog();
    let topic = ds(&c, Store::Kafka, "derivatives_tick_market_data");
    assert!(topic.pipelines.contains(&"realtime-connector".to_string()));
    assert!(topic.pipelines.contains(&"realtime-processor".to_string()));
    let ch = ds(&c, Store::Clickhouse, "qdp.derivatives_tick_market_data");
    assert!(ch.upstream.contains(&topic.id), "{:?}", ch.upstream);
    assert!(ch.source_systems.contains(&"system:ibkr_cpapi".to_string()));
    ds(
        &c,
        Store::Clickhouse,
        "qdp.derivatives_tick_market_data_latest",
    );
    let raw = ds(&c, Store::Kafka, "raw_ibkr_cpapi_ticks");
    assert!(raw.category.is_none());
    ds(&c, Store::Kafka, "derivatives_tick_market_data_unqualified");
    // The disk buffer sits between the feed and its consumers.
    assert!(
        c.nodes
            .iter()
            .any(|n| n.kind == NodeKind::Buffer && n.id.ends_with("buffers/ibkr"))
    );
    // The map's implied dictionary: tick_time from the feed's updated_ms.
    let line = c
        .dictionary
        .iter()
        .find(|d| d.pipeline == "realtime-connector" && d.field == "tick_time")
        .unwrap();
    assert_eq!(line.from, "column `updated_ms`");
    assert_eq!(line.source_system, "system:ibkr_cpapi");
}

#[test]
fn no_secret_reaches_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("secret.toml");
    std::fs::write(
        &p,
        r#"
[pipeline]
name = "secret"
[sources.api]
type = "eia"
api_key = "literal-api-key-1"
[sinks.wh]
type = "postgres"
inputs = ["api.numeric_economic_data"]
url = "postgres://qdp:hunter2-pw@db.internal:5432/w"
[sinks.store]
type = "clickhouse"
inputs = ["api.numeric_economic_data"]
url = "http://127.0.0.1:8123"
password = "ch-pass-3"
"#,
    )
    .unwrap();
    let registry = Registry::with_builtins();
    let mut all = pipelines();
    all.push(p);
    let c = build(&Sources {
        pipelines: all,
        gold_sql: None,
        registry: &registry,
    })
    .unwrap();
    let out = dir.path().join("out");
    qdp_catalog::render::write_all(&c, &out).unwrap();
    for f in ["index.html", "catalog.md", "catalog.json", "lineage.dot"] {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        for secret in ["literal-api-key-1", "hunter2-pw", "ch-pass-3"] {
            assert!(!text.contains(secret), "{secret} in {f}");
        }
        assert!(
            text.contains("${EIA_API_KEY}") || f == "lineage.dot",
            "{f} lost the unset reference"
        );
    }
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("<script") && !html.contains("http://cdn"));
    let dot = std::fs::read_to_string(out.join("lineage.dot")).unwrap();
    assert!(dot.starts_with("digraph lineage"));
}
