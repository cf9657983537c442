//! The naming of datasets: what a sink of a given type, with given options,
//! writes for each batch category, and what it creates on its own
//! (migrations, bookkeeping). One place, kept in step with the sink crates,
//! so the catalogue and the runtime's lineage events name a table the same
//! way the sink does.
//!
//! | sink `type` | batch category | dataset |
//! |---|---|---|
//! | `postgres` | a category schema `C` | `<silver_schema>.C` (table) |
//! | `postgres` | `X_unqualified` | `<silver_schema>.X_unqualified` |
//! | `postgres` | `raw_object` | `<bronze_schema>.raw_object` |
//! | `postgres` | `bronze_D` | `<bronze_schema>.D` |
//! | `clickhouse` | `C` | `<database>.<table>` (`table` template, default `{category}`), plus view `<table>_latest` for category schemas |
//! | `iceberg` | any (raw categories get a table shaped after their batches) | `<namespace>.<table>` |
//! | `kafka` | any | topic `categories.C.topic`, else the `topic` template (`{category}`, `{source_system}`) |
//! | `file` | any | folder `<path>/<category>` |
//! | `lake` | `raw_object` | folder `<url>/<source_system_name>` |

use crate::flow::Stream;
use crate::model::Store;
use crate::redact::redact_text;
use crate::sources;
use qdp_core::config::{ComponentConfig, PipelineConfig};
use qdp_sdk::schema::registry;
use serde_json::Value;

/// A dataset a sink writes or creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkDataset {
    /// Where it lives.
    pub store: Store,
    /// `table`, `view`, `topic` or `folder`.
    pub kind: &'static str,
    /// Name in the store, e.g. `silver.numeric_economic_data`.
    pub name: String,
    /// Server, database, catalog or path (credentials removed).
    pub location: String,
    /// `raw`, `bronze`, `silver`, `ops`, `realtime`, `history`, `buffer`, `files`.
    pub layer: &'static str,
    /// The category schema it implements (for rejects: the schema they failed).
    pub category: Option<String>,
    /// What it holds.
    pub description: String,
}

fn opt<'a>(o: &'a Value, key: &str, default: &'a str) -> &'a str {
    o.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(default)
}

/// The category schema behind `category` (itself, or what its rejects failed).
pub fn schema_of(category: &str) -> Option<String> {
    let base = category.strip_suffix("_unqualified").unwrap_or(category);
    registry().get(base).map(|s| s.name.clone())
}

/// The `source_system_name` of rows that started at source `origin`.
pub fn source_system_name(cfg: &PipelineConfig, origin: &str) -> String {
    cfg.components
        .iter()
        .find(|c| c.id == origin)
        .and_then(|c| sources::describe(c).system)
        .map_or_else(|| origin.to_string(), |s| s.name)
}

fn ds(
    store: Store,
    kind: &'static str,
    name: String,
    location: &str,
    layer: &'static str,
) -> SinkDataset {
    SinkDataset {
        store,
        kind,
        name,
        location: redact_text(location),
        layer,
        category: None,
        description: String::new(),
    }
}

/// What sink `sink` of pipeline `cfg` writes for the rows of `stream`;
/// empty when the sink type does not take that category (or writes no dataset).
pub fn written_for(
    cfg: &PipelineConfig,
    sink: &ComponentConfig,
    stream: &Stream,
) -> Vec<SinkDataset> {
    let o = &sink.options;
    let c = stream.category.as_str();
    let is_schema = registry().get(c).is_some();
    let schema = schema_of(c);
    let mut out = Vec::new();
    match sink.type_name.as_str() {
        "postgres" => {
            let url = opt(o, "url", "");
            let (bronze, silver) = (
                opt(o, "bronze_schema", "bronze"),
                opt(o, "silver_schema", "silver"),
            );
            let (name, layer, what) = if is_schema {
                (
                    format!("{silver}.{c}"),
                    "silver",
                    format!("`{c}` rows, upserted on the category's unique key"),
                )
            } else if c == "raw_object" {
                (
                    format!("{bronze}.raw_object"),
                    "bronze",
                    "documents as received, one row per sha256".into(),
                )
            } else if c.ends_with("_unqualified") {
                (
                    format!("{silver}.{c}"),
                    "silver",
                    format!(
                        "rejected `{}` rows as text, with the reason",
                        c.trim_end_matches("_unqualified")
                    ),
                )
            } else if let Some(d) = c.strip_prefix("bronze_") {
                (
                    format!("{bronze}.{d}"),
                    "bronze",
                    format!("dataset `{d}` as received, every column as text"),
                )
            } else {
                return out;
            };
            let mut d = ds(Store::Postgres, "table", name, url, layer);
            d.category = schema;
            d.description = what;
            out.push(d);
        }
        "clickhouse" => {
            let db = opt(o, "database", "qdp");
            let table = opt(o, "table", "{category}").replace("{category}", c);
            let url = opt(o, "url", "");
            let mut t = ds(
                Store::Clickhouse,
                "table",
                format!("{db}.{table}"),
                url,
                "realtime",
            );
            t.category = schema.clone();
            t.description = format!("`{c}` rows in the realtime store (ReplacingMergeTree)");
            out.push(t);
            let latest = o
                .get("latest_view")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            if is_schema && latest {
                let mut v = ds(
                    Store::Clickhouse,
                    "view",
                    format!("{db}.{table}_latest"),
                    url,
                    "realtime",
                );
                v.category = schema;
                v.description = format!("the last `{c}` row per source system and identifier");
                out.push(v);
            }
        }
        "iceberg" => {
            let ns = opt(o, "namespace", "history");
            let table = opt(o, "table", "{category}").replace("{category}", c);
            let default_wh = format!("file://{}", cfg.data_dir.join("warehouse").display());
            let wh = opt(o, "warehouse", &default_wh).to_string();
            let mut t = ds(
                Store::Iceberg,
                "table",
                format!("{ns}.{table}"),
                &wh,
                "history",
            );
            t.category = schema;
            t.description = format!("`{c}` rows kept as history (Iceberg, append-only)");
            out.push(t);
        }
        "kafka" => {
            let topic = o
                .get("categories")
                .and_then(|m| m.get(c))
                .and_then(|m| m.get("topic"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| {
                    opt(o, "topic", "{category}")
                        .replace("{category}", c)
                        .replace("{source_system}", &source_system_name(cfg, &stream.origin))
                });
            let mut t = ds(
                Store::Kafka,
                "topic",
                topic,
                opt(o, "brokers", ""),
                "buffer",
            );
            t.category = schema;
            t.description = format!("`{c}` rows, one message per row or per (batch, key)");
            out.push(t);
        }
        "file" => {
            let path = opt(o, "path", ".");
            let format = opt(o, "format", "parquet");
            let mut t = ds(
                Store::Files,
                "folder",
                format!("{path}/{}", sanitize(c)),
                path,
                "files",
            );
            t.category = schema;
            t.description = format!("`{c}` rows as {format} files");
            out.push(t);
        }
        "lake" => {
            if c == "raw_object" {
                let url = opt(o, "url", "");
                let system = source_system_name(cfg, &stream.origin);
                let mut t = ds(
                    Store::Lake,
                    "folder",
                    format!("{}/{system}", url.trim_end_matches('/')),
                    url,
                    "raw",
                );
                t.description =
                    format!("documents from `{system}` exactly as received, content-addressed");
                out.push(t);
            }
        }
        "stdout" => {}
        other => {
            let mut t = ds(
                Store::Other,
                "dataset",
                format!("{}/{c}", sink.id),
                other,
                "other",
            );
            t.category = schema;
            t.description = format!("`{c}` rows written by a `{other}` sink");
            out.push(t);
        }
    }
    out
}

/// The file sink's folder name of a category.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

mod created;
#[cfg(test)]
mod tests;

pub use created::{created_by, runtime_tables};
