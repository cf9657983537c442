//! Options of the `kafka` sink.

use serde::Deserialize;
use std::collections::BTreeMap;

/// How rows become message payloads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON object per row and message, readable by any consumer.
    /// Timestamps are RFC 3339 text in UTC with nanoseconds
    /// (`2026-03-02T14:30:00.123456789Z`), nulls are written as `null`.
    #[default]
    Json,
    /// One Arrow IPC stream (schema + one record batch) per message, holding
    /// the rows of one batch that share a key: compact and fast to read.
    Arrow,
}

impl Format {
    /// The value of the `qdp.format` header.
    pub fn header(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Arrow => "arrow",
        }
    }
}

/// Options of the `kafka` sink.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkOptions {
    /// Bootstrap brokers, `host:port[,host:port...]`.
    pub brokers: String,
    /// Topic of a batch: `{category}` and `{source_system}` are replaced
    /// (default `{category}`: one topic per category schema, rejects in
    /// `<category>_unqualified`, raw rows in their raw category's topic).
    #[serde(default = "default_topic")]
    pub topic: String,
    /// Per-category overrides of the topic and key column, e.g.
    /// `[sinks.kafka.categories.raw_ibkr_cpapi_ticks] key = "conid"`.
    #[serde(default)]
    pub categories: BTreeMap<String, CategoryOptions>,
    /// `json` (default) or `arrow`.
    #[serde(default)]
    pub format: Format,
    /// Key column for every category, instead of the designated identifier
    /// (schema metadata `qdp.identifier`). Messages with the same key go to
    /// the same partition, so each symbol stays in order.
    pub key: Option<String>,
    /// Key column for batches that have no designated identifier (raw
    /// categories); without it (or when the batch lacks the column) messages
    /// carry no key and are spread over the partitions.
    pub fallback_key: Option<String>,
    /// Create missing topics through the admin API (default true).
    #[serde(default = "default_true")]
    pub create_topics: bool,
    /// Partitions of topics the sink creates (default 6).
    #[serde(default = "default_partitions")]
    pub partitions: i32,
    /// Replication factor of topics the sink creates (default 1; use 3 on a
    /// production cluster).
    #[serde(default = "default_replication")]
    pub replication_factor: i32,
    /// Idempotent producer with `acks=all` (default true): the broker drops
    /// the producer's own retried sends and keeps each partition in send
    /// order. Only turn it off for a broker that cannot serve
    /// `InitProducerId`; `acks=all` stays.
    #[serde(default = "default_true")]
    pub idempotence: bool,
    /// Largest payload of one message in bytes (default 1000000); Arrow
    /// messages above it are split in halves until they fit.
    #[serde(default = "default_max_bytes")]
    pub max_message_bytes: usize,
    /// How long a write waits for the broker to acknowledge every message
    /// before it fails and is retried as a whole (default `30s`).
    #[serde(default = "default_delivery_timeout")]
    pub delivery_timeout: String,
    /// Further librdkafka producer properties, passed through as given
    /// (`security.protocol`, `sasl.*`, `ssl.*`, `compression.type`,
    /// `linger.ms`...). Values of secret-looking keys are never logged.
    #[serde(default)]
    pub properties: Properties,
}

/// Per-category overrides.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryOptions {
    /// Topic for this category (no template).
    pub topic: Option<String>,
    /// Key column for this category.
    pub key: Option<String>,
}

pub use qdp_sdk::options::Properties;

pub use qdp_sdk::options::duration;

/// Whether `name` is a legal Kafka topic name.
pub fn valid_topic(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

fn default_topic() -> String {
    "{category}".into()
}
fn default_true() -> bool {
    true
}
fn default_partitions() -> i32 {
    6
}
fn default_replication() -> i32 {
    1
}
fn default_max_bytes() -> usize {
    1_000_000
}
fn default_delivery_timeout() -> String {
    "30s".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hidden_from_debug_and_errors() {
        let p = Properties(BTreeMap::from([
            ("sasl.password".to_string(), "hunter2".to_string()),
            ("security.protocol".to_string(), "SASL_SSL".to_string()),
        ]));
        let shown = format!("{p:?}");
        assert!(!shown.contains("hunter2") && shown.contains("SASL_SSL"));
        assert_eq!(p.redact("bad value hunter2"), "bad value ***");
    }

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(valid_topic("derivatives_tick_market_data"));
        assert!(valid_topic("raw.ibkr-cpapi_ticks"));
        assert!(!valid_topic("a b"));
        assert!(!valid_topic(".."));
        assert!(!valid_topic(&"x".repeat(250)));
    }
}
