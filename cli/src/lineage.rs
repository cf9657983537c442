//! The datasets of a `qdp run` as OpenLineage names them, for the run
//! events of `[pipeline.lineage]`: inputs are the external systems the
//! sources read (or the Kafka topics a processor consumes), outputs every
//! table, topic or folder the sinks write, named by the catalogue's own
//! rules ([`qdp_catalog::datasets`]) so both agree.

use qdp_catalog::datasets::{SinkDataset, created_by, written_for};
use qdp_catalog::flow::Flow;
use qdp_catalog::model::Store;
use qdp_catalog::sources;
use qdp_core::config::{ComponentConfig, Kind, PipelineConfig};
use qdp_core::lineage::Dataset;
use std::collections::BTreeMap;

/// `(inputs, outputs)` of a run of `cfg`, sorted, without repeats: what
/// every source reads and its rows reach, plus what the sinks create for
/// everyone (migrations, bookkeeping).
pub fn datasets(cfg: &PipelineConfig) -> (Vec<Dataset>, Vec<Dataset>) {
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    for (read, written) in per_source(cfg).into_values() {
        inputs.extend(read);
        outputs.extend(written);
    }
    for sink in cfg.components.iter().filter(|c| c.kind == Kind::Sink) {
        outputs.extend(created_by(sink).iter().map(output));
    }
    (tidy(inputs), tidy(outputs))
}

/// Per scheduled source: what it reads, and what its rows are written to
/// (the tables its sinks create for everyone are left to the run's events).
pub fn per_source(cfg: &PipelineConfig) -> BTreeMap<String, (Vec<Dataset>, Vec<Dataset>)> {
    let flow = Flow::of(cfg);
    let mut out = BTreeMap::new();
    for c in cfg.components.iter().filter(|c| c.kind == Kind::Source) {
        let mut outputs = Vec::new();
        for sink in cfg.components.iter().filter(|c| c.kind == Kind::Sink) {
            for s in flow.input(sink).iter().filter(|s| s.origin == c.id) {
                outputs.extend(written_for(cfg, sink, s).iter().map(output));
            }
        }
        out.insert(c.id.clone(), (tidy(read_by(c)), tidy(outputs)));
    }
    out
}

/// The external system (or the Kafka topics) source `c` reads.
fn read_by(c: &ComponentConfig) -> Vec<Dataset> {
    let spec = sources::describe(c);
    let mut inputs = Vec::new();
    if let Some(system) = spec.system {
        inputs.push(Dataset {
            namespace: namespace(&system.detail, "source"),
            name: system.name,
        });
    }
    let brokers = c.options.get("brokers").and_then(|b| b.as_str());
    for (topic, _) in spec.topics {
        inputs.push(Dataset {
            namespace: kafka(brokers.unwrap_or_default()),
            name: topic,
        });
    }
    inputs
}

fn tidy(mut list: Vec<Dataset>) -> Vec<Dataset> {
    list.sort();
    list.dedup();
    list
}

/// OpenLineage naming: Postgres tables are `database.schema.table` in
/// `postgres://host:port`, Kafka topics live in `kafka://host:port`, the
/// rest in their URL or folder.
fn output(d: &SinkDataset) -> Dataset {
    match d.store {
        Store::Postgres => match url::Url::parse(&d.location) {
            Ok(u) => Dataset {
                namespace: format!(
                    "postgres://{}:{}",
                    u.host_str().unwrap_or("localhost"),
                    u.port().unwrap_or(5432)
                ),
                name: format!("{}.{}", u.path().trim_start_matches('/'), d.name),
            },
            Err(_) => plain(d),
        },
        Store::Kafka => Dataset {
            namespace: kafka(&d.location),
            name: d.name.clone(),
        },
        _ => plain(d),
    }
}

fn plain(d: &SinkDataset) -> Dataset {
    Dataset {
        namespace: namespace(&d.location, d.store.name()),
        name: d.name.clone(),
    }
}

/// `kafka://` and the first bootstrap server.
fn kafka(brokers: &str) -> String {
    let first = brokers.split(',').next().unwrap_or_default().trim();
    format!("kafka://{first}")
}

/// A URL's `scheme://host[:port]` (the first of a list), else the text
/// itself, else `fallback`.
fn namespace(location: &str, fallback: &str) -> String {
    let first = location
        .split(',')
        .next()
        .unwrap_or_default()
        .trim_matches(|c: char| c == '[' || c == ']' || c == '"' || c.is_whitespace());
    match url::Url::parse(first) {
        Ok(u) if u.has_host() => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}{port}",
                u.scheme(),
                u.host_str().unwrap_or_default()
            )
        }
        _ if !first.is_empty() => first.to_string(),
        _ => format!("qdp:{fallback}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_keep_scheme_host_and_port_only() {
        assert_eq!(
            namespace("https://api.eia.gov/v2", "x"),
            "https://api.eia.gov"
        );
        assert_eq!(
            namespace(r#"["https://ir.eia.gov/wpsr/table1.csv","b"]"#, "x"),
            "https://ir.eia.gov"
        );
        assert_eq!(namespace("/var/lib/qdp/drop", "x"), "/var/lib/qdp/drop");
        assert_eq!(namespace("", "files"), "qdp:files");
        assert_eq!(kafka("k1:9092,k2:9092"), "kafka://k1:9092");
    }

    #[test]
    fn the_macro_pipeline_reads_publishers_and_writes_the_warehouse() {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/pipelines/macro-warehouse.toml");
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let env = |name: &str| match name {
            "QDP_WAREHOUSE_URL" => Some("postgres://qdp@db:5433/warehouse".to_string()),
            _ => Some(format!("value-of-{name}")),
        };
        let cfg = match qdp_core::config::parse_pipeline(&file, &text, &env) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let (inputs, outputs) = datasets(&cfg);
        assert!(inputs.iter().any(|d| d.name == "eia_api_v2"), "{inputs:?}");
        let silver = Dataset {
            namespace: "postgres://db:5433".into(),
            name: "warehouse.silver.client_accounts".into(),
        };
        assert!(outputs.contains(&silver), "{outputs:?}");
        assert!(
            outputs
                .iter()
                .any(|d| d.name == "warehouse.silver.numeric_economic_data"),
            "{outputs:?}"
        );
        // Per source: the drop folder's rows reach the client tables, never
        // the EIA ones; the EIA API's the reverse.
        let per = per_source(&cfg);
        let names =
            |id: &str| -> Vec<String> { per[id].1.iter().map(|d| d.name.clone()).collect() };
        assert!(names("drop").contains(&"warehouse.silver.client_accounts".to_string()));
        assert!(
            !names("drop")
                .iter()
                .any(|n| n.contains("numeric_economic_data"))
        );
        assert!(names("eia_api").contains(&"warehouse.silver.numeric_economic_data".to_string()));
        assert!(
            !names("eia_api")
                .iter()
                .any(|n| n.contains("client_accounts"))
        );
        assert_eq!(per["eia_api"].0.len(), 1);
    }
}
