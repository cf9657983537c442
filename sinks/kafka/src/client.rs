//! Talking to the brokers: the producer's settings and topic creation.

use crate::config::{KafkaSinkOptions, Properties};
use qdp_sdk::{PluginError, Result};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

/// Properties the sink sets from its own options; `properties` may not
/// override them, so a guarantee is never weakened by a stray key.
const OWNED: &[&str] = &["bootstrap.servers", "enable.idempotence"];

/// Refuses `properties` that would override what the options decide.
pub fn check_properties(p: &Properties) -> Result<()> {
    if let Some(k) = p.0.keys().find(|k| OWNED.contains(&k.as_str())) {
        return Err(PluginError::config(format!(
            "properties.{k} is set by the sink's own options (brokers, idempotence); remove it"
        )));
    }
    Ok(())
}

/// The producer's librdkafka configuration.
pub fn producer_config(o: &KafkaSinkOptions, delivery_timeout: Duration) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &o.brokers)
        .set("enable.idempotence", o.idempotence.to_string())
        .set("acks", "all")
        // The Java client's partitioner, so a key lands in the same
        // partition whichever client writes it.
        .set("partitioner", "murmur2_random")
        .set(
            "message.timeout.ms",
            delivery_timeout.as_millis().max(1).to_string(),
        )
        .set(
            "message.max.bytes",
            (o.max_message_bytes + 64 * 1024).max(1_000_000).to_string(),
        );
    for (k, v) in &o.properties.0 {
        c.set(k, v);
    }
    c
}

/// An error from librdkafka, with secrets scrubbed from its text.
pub fn kafka_error(what: &str, e: &KafkaError, p: &Properties) -> PluginError {
    let text = p.redact(&e.to_string());
    match e {
        KafkaError::ClientConfig(..) | KafkaError::ClientCreation(..) => {
            PluginError::config(format!("{what}: {text}"))
        }
        _ => PluginError::external(format!("{what}: {text}")),
    }
}

/// Builds the producer (no network traffic yet).
pub fn producer(o: &KafkaSinkOptions, delivery_timeout: Duration) -> Result<FutureProducer> {
    producer_config(o, delivery_timeout)
        .create()
        .map_err(|e| kafka_error("cannot create the Kafka producer", &e, &o.properties))
}

/// Builds the admin client used to create topics.
pub fn admin(o: &KafkaSinkOptions) -> Result<AdminClient<DefaultClientContext>> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &o.brokers);
    for (k, v) in &o.properties.0 {
        // Producer-only keys would make the admin client refuse to start.
        if is_client_wide(k) {
            c.set(k, v);
        }
    }
    c.create()
        .map_err(|e| kafka_error("cannot create the Kafka admin client", &e, &o.properties))
}

/// Security and connection settings, which every kind of client takes.
fn is_client_wide(key: &str) -> bool {
    [
        "security.",
        "sasl.",
        "ssl.",
        "client.",
        "socket.",
        "broker.",
        "metadata.",
        "reconnect.",
    ]
    .iter()
    .any(|p| key.starts_with(p))
}

/// Creates `topic` unless it exists.
pub async fn create_topic(
    admin: &AdminClient<DefaultClientContext>,
    o: &KafkaSinkOptions,
    topic: &str,
    timeout: Duration,
) -> Result<()> {
    let new = NewTopic::new(
        topic,
        o.partitions,
        TopicReplication::Fixed(o.replication_factor),
    );
    let opts = AdminOptions::new()
        .request_timeout(Some(timeout))
        .operation_timeout(Some(timeout));
    let results = admin
        .create_topics([&new], &opts)
        .await
        .map_err(|e| kafka_error("cannot create a topic", &e, &o.properties))
        .map_err(|e| e.with_context("topic", topic))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(
                    PluginError::external(format!("cannot create a topic: {code}"))
                        .with_context("topic", name),
                );
            }
        }
    }
    Ok(())
}
