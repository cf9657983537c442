//! Rows waiting for their batch, per (category, source system), in the
//! order their messages arrived. JSON payloads are kept as received and
//! decoded together when the batch is cut (fast, and a bad one is found
//! and set aside without losing the others); Arrow messages are decoded on
//! arrival.

use crate::checkpoint::Tp;
use crate::decode::{self, Incoming};
use qdp_sdk::Position;
use qdp_sdk::arrow::array::RecordBatch;
use qdp_sdk::arrow::compute::concat_batches;
use qdp_sdk::arrow::datatypes::SchemaRef;
use qdp_sdk::arrow::error::ArrowError;

enum Chunk {
    Json(Vec<Incoming>),
    /// Rows of the message at an offset of a partition.
    Arrow(Tp, i64, RecordBatch),
}

/// The position of the message at `offset` of `tp`, holding `rows` rows.
pub fn position(tp: (&str, i32), offset: i64, rows: usize) -> Position {
    Position {
        stream: format!("{}/{}", tp.0, tp.1),
        at: u64::try_from(offset).unwrap_or_default(),
        rows: rows as u64,
    }
}

/// Rows with the positions they were read from.
pub type Piece = (RecordBatch, Vec<Position>);

/// Pending rows of one category and source system.
pub struct Table {
    /// Category of the rows.
    pub category: String,
    /// Source system of the rows.
    pub source_system: String,
    schema: Option<SchemaRef>,
    chunks: Vec<Chunk>,
}

/// What a table yields when cut: batches in arrival order with their
/// positions, and messages that could not be decoded, with the reason.
pub type Cut = (Vec<Piece>, Vec<(Incoming, String)>);

impl Table {
    /// An empty table; `schema` is the category schema, when known.
    pub fn new(category: &str, source_system: &str, schema: Option<SchemaRef>) -> Self {
        Self {
            category: category.to_string(),
            source_system: source_system.to_string(),
            schema,
            chunks: Vec::new(),
        }
    }

    /// Queues a JSON message.
    pub fn push_json(&mut self, m: Incoming) {
        match self.chunks.last_mut() {
            Some(Chunk::Json(v)) => v.push(m),
            _ => self.chunks.push(Chunk::Json(vec![m])),
        }
    }

    /// Queues decoded Arrow rows of the message at `offset` of `tp`.
    pub fn push_arrow(&mut self, tp: Tp, offset: i64, b: RecordBatch) {
        self.chunks.push(Chunk::Arrow(tp, offset, b));
    }

    /// Rows pending.
    pub fn rows(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| match c {
                Chunk::Json(v) => v.len(),
                Chunk::Arrow(_, _, b) => b.num_rows(),
            })
            .sum()
    }

    /// Forgets the rows read from `tp` (a partition taken away by a
    /// rebalance: its next owner reads them again from the committed offset).
    pub fn drop_partition(&mut self, tp: &Tp) {
        for c in &mut self.chunks {
            if let Chunk::Json(v) = c {
                v.retain(|m| m.topic != tp.0 || m.partition != tp.1);
            }
        }
        self.chunks.retain(|c| match c {
            Chunk::Json(v) => !v.is_empty(),
            Chunk::Arrow(t, _, _) => t != tp,
        });
    }

    /// Decodes and empties the table.
    pub fn take(&mut self) -> Result<Cut, ArrowError> {
        let mut pieces: Vec<Piece> = Vec::new();
        let mut bad = Vec::new();
        for chunk in std::mem::take(&mut self.chunks) {
            match chunk {
                Chunk::Arrow(tp, offset, b) => {
                    let at = position((&tp.0, tp.1), offset, b.num_rows());
                    pieces.push((b, vec![at]));
                }
                Chunk::Json(msgs) => {
                    let payloads: Vec<&[u8]> = msgs
                        .iter()
                        .map(|m| m.payload.as_deref().unwrap_or_default())
                        .collect();
                    let (rows, failed) = match &self.schema {
                        Some(s) => decode::json(s, &payloads),
                        None => match decode::infer(&payloads) {
                            Ok((s, mut not_objects)) => {
                                let skip: Vec<usize> =
                                    not_objects.iter().map(|(i, _)| *i).collect();
                                let keep: Vec<&[u8]> = payloads
                                    .iter()
                                    .enumerate()
                                    .filter(|(i, _)| !skip.contains(i))
                                    .map(|(_, p)| *p)
                                    .collect();
                                let kept: Vec<usize> =
                                    (0..payloads.len()).filter(|i| !skip.contains(i)).collect();
                                let (rows, more) = decode::json(&s, &keep);
                                not_objects.extend(more.into_iter().map(|(i, r)| (kept[i], r)));
                                (rows, not_objects)
                            }
                            Err(e) => (None, (0..payloads.len()).map(|i| (i, e.clone())).collect()),
                        },
                    };
                    let mut msgs: Vec<Option<Incoming>> = msgs.into_iter().map(Some).collect();
                    for (i, reason) in failed {
                        if let Some(m) = msgs.get_mut(i).and_then(Option::take) {
                            bad.push((m, reason));
                        }
                    }
                    if let Some(rows) = rows {
                        // One row per decoded message, in order; a payload
                        // holding several objects leaves the rows unplaced.
                        let good: Vec<Position> = msgs
                            .iter()
                            .flatten()
                            .map(|m| position((&m.topic, m.partition), m.offset, 1))
                            .collect();
                        let placed = good.len() == rows.num_rows();
                        pieces.push((rows, if placed { good } else { Vec::new() }));
                    }
                }
            }
        }
        Ok((merge(pieces)?, bad))
    }
}

/// Concatenates consecutive pieces that share a schema (all of them, for a
/// category with a schema), keeping their order. A merged batch has
/// positions only when every piece of it had them.
fn merge(pieces: Vec<Piece>) -> Result<Vec<Piece>, ArrowError> {
    let mut runs: Vec<Vec<Piece>> = Vec::new();
    for p in pieces.into_iter().filter(|p| p.0.num_rows() > 0) {
        match runs.last_mut() {
            Some(run) if run[0].0.schema() == p.0.schema() => run.push(p),
            _ => runs.push(vec![p]),
        }
    }
    runs.into_iter()
        .map(|run| {
            let placed = run.iter().all(|(_, at)| !at.is_empty());
            let batches: Vec<&RecordBatch> = run.iter().map(|(b, _)| b).collect();
            let data = concat_batches(&run[0].0.schema(), batches)?;
            let at = if placed {
                run.into_iter().flat_map(|(_, at)| at).collect()
            } else {
                Vec::new()
            };
            Ok((data, at))
        })
        .collect()
}
