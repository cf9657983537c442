//! What a source of a given type reads and emits, read off its options
//! without instantiating it: the external system it touches, the
//! `source_system_name` its rows carry, and the category of each output
//! port. Kept in step with the connector crates' `outputs()`; a type not
//! listed here is catalogued from the ports the pipeline uses, with a note.

use crate::redact::redact_text;
use qdp_core::config::ComponentConfig;
use serde_json::Value;

/// The external system behind a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSystem {
    /// The `source_system_name` of its rows (also the node's key).
    pub name: String,
    /// Human name, e.g. "EIA API v2".
    pub label: String,
    /// Where it is (URL or folder, credentials removed).
    pub detail: String,
}

/// What a source component emits.
#[derive(Debug, Clone, Default)]
pub struct SourceSpec {
    /// The external system; `None` for a Kafka source, whose upstream is topics.
    pub system: Option<SourceSystem>,
    /// (port, category) of every output; `None` is the main port.
    pub ports: Vec<(Option<String>, String)>,
    /// (topic, category) a Kafka source reads.
    pub topics: Vec<(String, String)>,
    /// Whether the type is known to the catalogue.
    pub known: bool,
}

fn opt<'a>(o: &'a Value, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

fn system(o: &Value, default_name: &str, label: &str, detail: &str) -> Option<SourceSystem> {
    Some(SourceSystem {
        name: opt(o, "source_system").unwrap_or(default_name).to_string(),
        label: label.to_string(),
        detail: redact_text(detail),
    })
}

fn port(p: &str, category: &str) -> (Option<String>, String) {
    (Some(p.to_string()), category.to_string())
}

/// Describes source component `c`.
pub fn describe(c: &ComponentConfig) -> SourceSpec {
    let o = &c.options;
    let mut s = SourceSpec {
        known: true,
        ..SourceSpec::default()
    };
    let economic = |unqualified: &str| {
        vec![
            port("raw_object", "raw_object"),
            port("numeric_economic_data", "numeric_economic_data"),
            port("economic_data_releases", "economic_data_releases"),
            port("unqualified", unqualified),
        ]
    };
    match c.type_name.as_str() {
        "eia" => {
            if opt(o, "mode") == Some("wpsr_csv") {
                let urls = o.get("urls").map(|u| u.to_string()).unwrap_or_default();
                s.system = system(o, "eia_wpsr_csv", "EIA WPSR tables (CSV)", &urls);
            } else {
                let base = opt(o, "base_url").unwrap_or("https://api.eia.gov/v2");
                s.system = system(o, "eia_api_v2", "EIA API v2", base);
            }
            s.ports = economic("numeric_economic_data_unqualified");
        }
        "cftc" => {
            let files = o.get("files").map(|u| u.to_string()).unwrap_or_default();
            s.system = system(
                o,
                "cftc_cot_files",
                "CFTC Commitments of Traders files",
                &files,
            );
            s.ports = economic("cftc_cot_unqualified");
        }
        "files" => {
            let folder = opt(o, "folder").unwrap_or("");
            s.system = system(o, "files", "Drop folder", folder);
            s.ports.push(port("raw_object", "raw_object"));
            let names: Vec<&String> = o
                .get("datasets")
                .and_then(Value::as_object)
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            for d in &names {
                s.ports
                    .push(port(&format!("bronze_{d}"), &format!("bronze_{d}")));
            }
            for d in &names {
                s.ports
                    .push(port("unqualified", &format!("bronze_{d}_unqualified")));
            }
        }
        "sql" => {
            let url = opt(o, "url").unwrap_or("");
            s.system = system(o, "sql", "Operational database", url);
            for t in o
                .get("tables")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(d) = opt(t, "dataset") {
                    s.ports
                        .push(port(&format!("bronze_{d}"), &format!("bronze_{d}")));
                }
            }
            s.ports.push(port("unqualified", "sql_rows_unqualified"));
        }
        "websocket" => {
            let url = opt(o, "url").unwrap_or("");
            if opt(o, "preset") == Some("ibkr_cpapi") {
                s.system = system(o, "ibkr_cpapi", "IBKR Client Portal websocket", url);
                s.ports.push(port("ticks", "raw_ibkr_cpapi_ticks"));
                s.ports.push(port("quotes", "raw_ibkr_cpapi_quotes"));
            } else {
                s.system = system(o, "websocket", "Websocket feed", url);
                let cat = o
                    .get("generic")
                    .and_then(|g| opt(g, "category"))
                    .unwrap_or("websocket_rows");
                s.ports.push((None, cat.to_string()));
            }
            s.ports
                .push(port("unqualified", "websocket_frames_unqualified"));
        }
        "market_sim" => {
            s.system = Some(SourceSystem {
                name: "market_sim".into(),
                label: "Market simulator".into(),
                detail: "simulated futures ticks (qdp market_sim)".into(),
            });
            s.ports.push((None, "raw_market_sim_ticks".into()));
        }
        "kafka" => {
            for t in o
                .get("topics")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let pair = match t {
                    Value::String(name) => Some((name.clone(), name.clone())),
                    other => opt(other, "topic").map(|topic| {
                        let cat = opt(other, "category").unwrap_or(topic);
                        (topic.to_string(), cat.to_string())
                    }),
                };
                if let Some((topic, cat)) = pair {
                    if !s.ports.iter().any(|(_, c)| *c == cat) {
                        s.ports.push((None, cat.clone()));
                    }
                    s.topics.push((topic, cat));
                }
            }
            s.ports.push((None, "kafka_messages_unqualified".into()));
        }
        other => {
            s.known = false;
            s.system = system(o, other, &format!("`{other}` source"), "");
        }
    }
    s
}
