//! Options of the `kafka` source.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Options of the `kafka` source.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Bootstrap brokers, `host:port[,host:port...]`.
    pub brokers: String,
    /// Consumer group: processes with the same group share the partitions,
    /// and the group's committed offsets are where a restart resumes.
    pub group_id: String,
    /// Topics to read: a name (its category is the topic name) or
    /// `{ topic = "...", category = "..." }`.
    pub topics: Vec<TopicSpec>,
    /// `auto` (default: the `qdp.format` header, else guessed from the
    /// payload), `json` or `arrow`.
    #[serde(default)]
    pub format: Format,
    /// Where a group without committed offsets starts: `earliest` (default)
    /// or `latest`.
    #[serde(default)]
    pub start: Start,
    /// Rows held at most before a batch is emitted (default 5000).
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Longest a row waits for its batch to fill (default `200ms`).
    #[serde(default = "default_wait")]
    pub max_wait: String,
    /// `source_system` of rows whose message has no `qdp.source_system`
    /// header (default `kafka`).
    #[serde(default = "default_system")]
    pub source_system: String,
    /// Further librdkafka consumer properties, passed through as given
    /// (`security.protocol`, `sasl.*`, `ssl.*`, `session.timeout.ms`,
    /// `partition.assignment.strategy`...). Values of secret-looking keys are
    /// never logged.
    #[serde(default)]
    pub properties: Properties,
}

/// One topic to read.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
pub enum TopicSpec {
    /// Topic name = category.
    Name(String),
    /// A topic and the category its messages carry.
    Mapped {
        /// Topic name.
        topic: String,
        /// Category of its rows.
        category: String,
    },
}

impl TopicSpec {
    /// `(topic, category)`.
    pub fn pair(&self) -> (&str, &str) {
        match self {
            TopicSpec::Name(t) => (t, t),
            TopicSpec::Mapped { topic, category } => (topic, category),
        }
    }
}

/// How payloads are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// By the `qdp.format` header; without it, Arrow IPC when the payload
    /// starts with the IPC continuation marker, JSON otherwise.
    #[default]
    Auto,
    /// One JSON object per message.
    Json,
    /// Arrow IPC streams.
    Arrow,
}

/// Where a group without committed offsets starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Start {
    /// The oldest message still in the topic.
    #[default]
    Earliest,
    /// Only messages written after the group first joins.
    Latest,
}

/// librdkafka properties whose `Debug` hides the values of secrets.
#[derive(Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Properties(pub BTreeMap<String, String>);

impl Properties {
    /// Whether a property holds a secret (passwords, keys, tokens).
    pub fn is_secret(key: &str) -> bool {
        let k = key.to_ascii_lowercase();
        [
            "password",
            "secret",
            "ssl.key",
            "oauthbearer.config",
            "token",
        ]
        .iter()
        .any(|s| k.contains(s))
    }

    /// `text` with the value of every secret property replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (k, v) in &self.0 {
            if Self::is_secret(k) && !v.is_empty() {
                out = out.replace(v.as_str(), "***");
            }
        }
        out
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| {
                let shown = if Self::is_secret(k) {
                    "***"
                } else {
                    v.as_str()
                };
                (k, shown)
            }))
            .finish()
    }
}

/// Parses `250ms`, `30s`, `5m`.
pub fn duration(text: &str, key: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, f64::NAN)
    };
    match num.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && mult.is_finite() => Ok(Duration::from_secs_f64(n * mult)),
        _ => Err(format!(
            "{key}: `{text}` is not a duration like 500ms, 30s or 5m"
        )),
    }
}

fn default_batch() -> usize {
    5000
}
fn default_wait() -> String {
    "200ms".into()
}
fn default_system() -> String {
    "kafka".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_names_or_mappings() {
        let o: Options = serde_json::from_value(serde_json::json!({
            "brokers": "k:9092",
            "group_id": "g",
            "topics": ["derivatives_tick_market_data", { "topic": "t1", "category": "raw_x" }],
            "properties": { "sasl.password": "hunter2" }
        }))
        .unwrap();
        assert_eq!(
            o.topics[0].pair(),
            (
                "derivatives_tick_market_data",
                "derivatives_tick_market_data"
            )
        );
        assert_eq!(o.topics[1].pair(), ("t1", "raw_x"));
        assert!(!format!("{o:?}").contains("hunter2"));
        let typo = serde_json::from_value::<TopicSpec>(
            serde_json::json!({ "topic": "t", "category": "c", "partitions": 3 }),
        );
        assert!(typo.is_err());
    }
}
