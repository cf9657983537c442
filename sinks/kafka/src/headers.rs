//! The headers every message carries. With them a consumer drops a replayed
//! write (same pipeline, origin, producer, seq and part) and `qdp reconcile`
//! counts rows per (origin, seq) without decoding payloads.

use crate::config::Format;
use crate::sink::owned_headers;
use qdp_sdk::Batch;
use rdkafka::message::OwnedHeaders;

/// Category of the rows.
pub const CATEGORY: &str = "qdp.category";
/// Source system of the rows.
pub const SOURCE_SYSTEM: &str = "qdp.source_system";
/// Name of the pipeline that wrote the message (tells apart two pipelines
/// whose components share ids).
pub const PIPELINE: &str = "qdp.pipeline";
/// Source component the rows come from.
pub const ORIGIN: &str = "qdp.origin";
/// Component that emitted the batch (the source or the last transform).
pub const PRODUCER: &str = "qdp.producer";
/// Batch number per origin.
pub const SEQ: &str = "qdp.seq";
/// Index of the message within its batch, from 0.
pub const PART: &str = "qdp.part";
/// Rows in the message.
pub const ROWS: &str = "qdp.rows";
/// `json` or `arrow`.
pub const FORMAT: &str = "qdp.format";

/// The headers of message `part` of batch `b`.
pub fn of(b: &Batch, pipeline: &str, part: usize, rows: usize, format: Format) -> OwnedHeaders {
    owned_headers(&[
        (CATEGORY, b.meta.category.clone()),
        (SOURCE_SYSTEM, b.meta.source_system.clone()),
        (PIPELINE, pipeline.to_string()),
        (ORIGIN, b.meta.origin.clone()),
        (PRODUCER, b.meta.producer.clone()),
        (SEQ, b.meta.seq.to_string()),
        (PART, part.to_string()),
        (ROWS, rows.to_string()),
        (FORMAT, format.header().to_string()),
    ])
}
