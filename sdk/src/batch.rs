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
    /// Where each run of the rows was read from, in row order, when the
    /// source can name it by a position that survives restarts and
    /// rebalances (a Kafka partition offset); empty otherwise. See
    /// [`Position`].
    pub positions: Vec<Position>,
}

/// A run of a batch's rows read from one place of an ordered stream.
///
/// A source whose batch boundaries depend on timing (Kafka) cannot give
/// the same batch number to the same rows after a restart, and replicas
/// sharing a consumer group number their batches independently, so
/// `(origin, seq)` cannot tell a sink which rows it already holds. The
/// position can: `(stream, at)` names the same rows whoever reads them,
/// and `at` only grows along a stream, so a sink keeping the highest `at`
/// committed per stream skips exactly the runs it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The ordered stream, e.g. `topic/partition`.
    pub stream: String,
    /// Where in the stream the rows were read (a message offset).
    pub at: u64,
    /// How many of the batch's rows, following the previous runs', come
    /// from there.
    pub rows: u64,
}

/// Metadata the runtime attaches to every batch after the source.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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
    /// Whether the source replays deterministically
    /// ([`crate::capabilities::DETERMINISTIC_REPLAY`]): only then does
    /// `(origin, seq)` name the same rows after a restart, and may a sink
    /// skip a batch because it holds that number.
    #[serde(default)]
    pub replayable: bool,
    /// The source's [`Position`]s of the rows; only batches straight from
    /// the source carry them (a transform may drop, add or reorder rows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positions: Vec<Position>,
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
