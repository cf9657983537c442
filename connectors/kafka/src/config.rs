//! Options of the `kafka` source.

use serde::Deserialize;

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

pub use qdp_sdk::options::Properties;

pub use qdp_sdk::options::duration;

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
