//! `kafka`: a qdp source plugin reading category rows from Kafka topics.
//!
//! It is the processor side of the distributed deployment (ARCHITECTURE §2,
//! §5): processes with the same `group_id` share the partitions of the
//! topics the `kafka` sink writes, and each loads its destination.
//!
//! * **Formats**: JSON (one object per message, decoded through the
//!   category schema) and Arrow IPC streams; `format = "auto"` follows the
//!   `qdp.format` header.
//! * **Outputs**: each topic's category with its category schema
//!   (`<category>_unqualified` with the reject schema; raw categories have no
//!   declared schema and JSON columns are inferred), plus
//!   `kafka_messages_unqualified`: any message that cannot be decoded, with
//!   topic, partition, offset, key, payload (text or base64), headers and
//!   the reason. A bad message never stops the pipeline and is never lost.
//! * **Offsets**: never committed at poll time (`enable.auto.commit=false`).
//!   Every batch carries a checkpoint: partition → next offset plus dedup
//!   marks. `ack` (every sink downstream committed) commits the offsets of
//!   partitions still assigned, synchronously; a commit refused after a
//!   rebalance is logged, and the new owner re-reads (at-least-once).
//! * **Replays**: messages from the `kafka` sink carry `(qdp.pipeline,
//!   qdp.origin, qdp.producer, qdp.seq, qdp.part)`; per partition, the
//!   highest `(seq, part)` of each writer is kept in the checkpoint, and a
//!   message at or below it (a batch written again after a crash) is dropped.
//! * **Restart**: the group's committed offsets decide where each partition
//!   resumes, unless the checkpoint (stored by the runtime after every sink
//!   committed) is ahead of them because a commit was lost; then the
//!   checkpoint's offset is used.
//!
//! ```toml
//! [sources.ticks]
//! type = "kafka"
//! brokers = "kafka-1:9092,kafka-2:9092"
//! group_id = "clickhouse-loader"
//! topics = [
//!     "derivatives_tick_market_data",
//!     "derivatives_tick_market_data_unqualified",
//!     { topic = "raw_ibkr_cpapi_ticks", category = "raw_ibkr_cpapi_ticks" },
//! ]
//! start = "earliest"    # for a group without committed offsets
//! batch_size = 5000
//! max_wait = "200ms"
//! ```

#![forbid(unsafe_code)]

mod checkpoint;
pub mod config;
mod consumer;
pub mod decode;
mod pending;
mod source;
mod table;

pub use source::KafkaSource;

qdp_sdk::export_source!(KafkaSource);
