//! Batches: Arrow record batches plus the metadata every batch carries.

use arrow::array::RecordBatch;
use arrow_schema::SchemaRef;
use serde::{Deserialize, Serialize};

/// An opaque resume position produced by a source.
///
/// The runtime stores it once every sink downstream has committed the batch
/// that carried it, and hands it back to the source on restart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Checkpoint(pub Vec<u8>);

impl Checkpoint {
    /// The checkpoint's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// What a source emits: rows of one category plus the position to resume after them.
#[derive(Debug, Clone)]
pub struct SourceBatch {
    /// Category schema name (or a raw category) of the rows.
    pub category: String,
    /// Source system the rows come from, e.g. `market_sim` or `ibkr_cpapi`.
    pub source_system: String,
    /// The rows.
    pub data: RecordBatch,
    /// Resume position just after these rows.
    pub checkpoint: Checkpoint,
}

/// Metadata the runtime attaches to every batch after the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMeta {
    /// Category schema name of the rows (`<category>_unqualified` for rejects).
    pub category: String,
    /// Source system the rows come from.
    pub source_system: String,
    /// Id of the source component in the pipeline that produced the batch.
    pub origin: String,
    /// Batch number per origin, counted from the source's stored checkpoint.
    ///
    /// When a source replays deterministically from a checkpoint, the same
    /// `(origin, seq)` names the same rows, so sinks may use it as a dedup key.
    pub seq: u64,
    /// Id of the component that emitted this batch: the source itself, or
    /// the last transform it went through. Two paths from one origin (say
    /// the reject ports of two stages) can reach a sink in any order, so a
    /// sink that tracks `seq` high-water marks keys them by producer too.
    #[serde(default)]
    pub producer: String,
}

/// A batch as seen by transforms and sinks.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The rows.
    pub data: RecordBatch,
    /// Where they come from.
    pub meta: BatchMeta,
}

/// One output port of a component: what category it emits and, when known, the schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputDecl {
    /// Port name; `None` is the main output, `Some("unqualified")` the reject side output.
    pub port: Option<String>,
    /// Category emitted on this port.
    pub category: String,
    /// Arrow schema of the batches, when the component knows it before running.
    pub schema: Option<SchemaRef>,
}

impl OutputDecl {
    /// The main output with a known schema.
    pub fn main(category: impl Into<String>, schema: SchemaRef) -> Self {
        Self {
            port: None,
            category: category.into(),
            schema: Some(schema),
        }
    }
}

/// One batch emitted by a transform on one of its ports.
#[derive(Debug, Clone)]
pub struct Emit {
    /// Port name; `None` is the main output.
    pub port: Option<String>,
    /// Category of the emitted rows.
    pub category: String,
    /// The rows.
    pub data: RecordBatch,
}

/// Which categories a sink takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Accepts {
    /// Any category (file, stdout, lake).
    Any,
    /// Only these categories.
    Categories(Vec<String>),
}

/// The first difference between a declared schema and a batch's, in words,
/// or `None` when names, types and nullability agree column by column.
pub fn schema_difference(
    declared: &arrow_schema::Schema,
    actual: &arrow_schema::Schema,
) -> Option<String> {
    if declared.fields().len() != actual.fields().len() {
        return Some(format!(
            "{} columns, declared {}",
            actual.fields().len(),
            declared.fields().len()
        ));
    }
    for (d, a) in declared.fields().iter().zip(actual.fields()) {
        if d.name() != a.name()
            || d.data_type() != a.data_type()
            || d.is_nullable() != a.is_nullable()
        {
            return Some(format!(
                "column `{}` is {} (nullable {}), declared `{}` {} (nullable {})",
                a.name(),
                a.data_type(),
                a.is_nullable(),
                d.name(),
                d.data_type(),
                d.is_nullable()
            ));
        }
    }
    None
}
