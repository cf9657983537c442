//! `kafka`: a qdp sink plugin publishing category rows to Kafka topics.
//!
//! This is the buffer of the distributed deployment (ARCHITECTURE §2): one
//! topic per category schema (`derivatives_tick_market_data`, rejects in
//! `derivatives_tick_market_data_unqualified`) plus raw topics
//! (`raw_ibkr_cpapi_ticks`), read back by the `kafka` source.
//!
//! * **Key** = the designated identifier (schema metadata `qdp.identifier`),
//!   so every message of one symbol lands in one partition, in order.
//! * **Formats**: `json`, one JSON object per row and message (RFC 3339 UTC
//!   timestamps with nanoseconds, explicit nulls), readable by any consumer;
//!   `arrow`, one Arrow IPC stream per (batch, key), for speed.
//! * **Delivery**: idempotent producer with `acks=all`; `write` returns only
//!   when every message of the call is acknowledged, and any failure fails
//!   the whole call, which the runtime retries.
//! * **Replays**: every message carries `qdp.category`, `qdp.source_system`,
//!   `qdp.pipeline`, `qdp.origin`, `qdp.producer`, `qdp.seq`, `qdp.part`,
//!   `qdp.rows` and `qdp.format`. A batch written again after a crash is
//!   appended again with the same headers; the `kafka` source drops it.
//!   Within one process a retried call skips batches already acknowledged.
//!
//! ```toml
//! [sinks.buffer]
//! type = "kafka"
//! inputs = ["ticks", "validate.unqualified"]
//! brokers = "kafka-1:9092,kafka-2:9092"
//! format = "arrow"               # or "json" (default)
//! partitions = 12                # for topics the sink creates
//! replication_factor = 3
//! [sinks.buffer.categories.raw_ibkr_cpapi_ticks]
//! key = "conid"
//! [sinks.buffer.properties]
//! "security.protocol" = "SASL_SSL"
//! "sasl.mechanism" = "PLAIN"
//! "sasl.username" = "qdp"
//! "sasl.password" = "${KAFKA_PASSWORD}"
//! ```

#![forbid(unsafe_code)]

mod client;
pub mod config;
pub mod encode;
pub mod headers;
mod sink;

pub use config::{Format, KafkaSinkOptions};
pub use sink::KafkaSink;

qdp_sdk::export_sink!(KafkaSink);
