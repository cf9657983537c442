//! What sinks create on their own, whatever they receive, and the
//! runtime's own tables.

use super::{SinkDataset, ds, opt};
use crate::model::Store;
use qdp_core::config::{ComponentConfig, PipelineConfig};
use qdp_sdk::schema::registry;

/// What sink `sink` creates whatever it receives: the Postgres sink's
/// migrations (`sinks/postgres/migrations/*.sql` and one step per category
/// schema) make every category table, `raw_object` and its bookkeeping.
/// Mirror a new migration here; the warehouse test fails until it is.
pub fn created_by(sink: &ComponentConfig) -> Vec<SinkDataset> {
    let o = &sink.options;
    if sink.type_name != "postgres" {
        return Vec::new();
    }
    let url = opt(o, "url", "");
    let (bronze, silver, ops) = (
        opt(o, "bronze_schema", "bronze"),
        opt(o, "silver_schema", "silver"),
        opt(o, "ops_schema", "ops"),
    );
    let mut out = Vec::new();
    let mut push = |name: String, layer, category: Option<String>, what: &str| {
        let mut d = ds(Store::Postgres, "table", name, url, layer);
        d.category = category;
        d.description = what.to_string();
        out.push(d);
    };
    push(
        format!("{bronze}.raw_object"),
        "bronze",
        None,
        "documents as received, one row per sha256 (created by the sink's migrations)",
    );
    push(
        format!("{ops}.schema_migrations"),
        "ops",
        None,
        "every migration step applied to this warehouse, with its checksum",
    );
    push(
        format!("{ops}.release_load"),
        "ops",
        None,
        "when each release edition first landed in silver",
    );
    push(
        format!("{ops}.load_quality"),
        "ops",
        None,
        "data-quality record of every load: one row per category of every write, published or failed",
    );
    push(
        format!("{ops}.gold_quality"),
        "ops",
        None,
        "gold views measured after each gold refresh, published or failed",
    );
    for s in registry().all() {
        push(
            format!("{silver}.{}", s.name),
            "silver",
            Some(s.name.clone()),
            "created by the sink's migrations for every category schema",
        );
    }
    out
}

/// The runtime's own tables: `[pipeline.state] postgres` keeps source
/// checkpoints, marks and release SLA rows there.
pub fn runtime_tables(cfg: &PipelineConfig) -> Vec<SinkDataset> {
    let Some(url) = &cfg.state_postgres else {
        return Vec::new();
    };
    let ops = cfg.state_schema.as_deref().unwrap_or("ops");
    [
        (
            "source_checkpoint",
            "each source's last acknowledged checkpoint",
        ),
        ("source_mark", "each source's watermarks"),
        (
            "release_sla",
            "every expected release: when it was due, first seen, loaded, and its status",
        ),
    ]
    .into_iter()
    .map(|(t, what)| {
        let mut d = ds(Store::Postgres, "table", format!("{ops}.{t}"), url, "ops");
        d.description = what.to_string();
        d
    })
    .collect()
}
