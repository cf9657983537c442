//! Rows accumulated per output category, turned into Arrow batches.

use qdp_sdk::arrow::array::{ArrayRef, Float64Builder, Int64Builder, RecordBatch, StringBuilder};
use qdp_sdk::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use qdp_sdk::{PluginError, Result};
use std::sync::Arc;
use std::time::Instant;

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(Option<String>),
    /// Float.
    F64(Option<f64>),
    /// Integer.
    I64(Option<i64>),
}

/// Column kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Text,
    /// Float.
    F64,
    /// Integer.
    I64,
}

/// Rows of one category waiting to be emitted.
pub struct Table {
    /// Category of the rows.
    pub category: String,
    /// Arrow schema of the batches.
    pub schema: SchemaRef,
    kinds: Vec<Kind>,
    rows: Vec<Vec<Cell>>,
    /// When the oldest waiting row arrived.
    pub since: Option<Instant>,
}

impl Table {
    /// A table with columns `(name, kind, nullable)`.
    pub fn new(category: &str, columns: &[(&str, Kind, bool)]) -> Self {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, k, nullable)| {
                let t = match k {
                    Kind::Text => DataType::Utf8,
                    Kind::F64 => DataType::Float64,
                    Kind::I64 => DataType::Int64,
                };
                Field::new(*n, t, *nullable)
            })
            .collect();
        Self {
            category: category.to_string(),
            schema: Arc::new(Schema::new(fields)),
            kinds: columns.iter().map(|(_, k, _)| *k).collect(),
            rows: Vec::new(),
            since: None,
        }
    }

    /// Rows waiting.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// No rows waiting.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds a row (one cell per column, in order).
    pub fn push(&mut self, row: Vec<Cell>) {
        if self.rows.is_empty() {
            self.since = Some(Instant::now());
        }
        self.rows.push(row);
    }

    /// Takes every waiting row as one batch.
    pub fn take(&mut self) -> Result<RecordBatch> {
        let rows = std::mem::take(&mut self.rows);
        self.since = None;
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(self.kinds.len());
        for (i, k) in self.kinds.iter().enumerate() {
            let cell = |r: &Vec<Cell>| r.get(i).cloned();
            cols.push(match k {
                Kind::Text => {
                    let mut b = StringBuilder::new();
                    for r in &rows {
                        match cell(r) {
                            Some(Cell::Text(v)) => b.append_option(v),
                            _ => b.append_null(),
                        }
                    }
                    Arc::new(b.finish())
                }
                Kind::F64 => {
                    let mut b = Float64Builder::new();
                    for r in &rows {
                        match cell(r) {
                            Some(Cell::F64(v)) => b.append_option(v),
                            _ => b.append_null(),
                        }
                    }
                    Arc::new(b.finish())
                }
                Kind::I64 => {
                    let mut b = Int64Builder::new();
                    for r in &rows {
                        match cell(r) {
                            Some(Cell::I64(v)) => b.append_option(v),
                            _ => b.append_null(),
                        }
                    }
                    Arc::new(b.finish())
                }
            });
        }
        RecordBatch::try_new(self.schema.clone(), cols).map_err(|e| {
            PluginError::internal(format!("building a `{}` batch: {e}", self.category))
        })
    }
}

/// The frame-level reject table every preset has.
pub fn unqualified() -> Table {
    Table::new(
        UNQUALIFIED,
        &[
            ("frame", Kind::Text, false),
            ("received_time_ns", Kind::I64, false),
            ("unqualified_reason", Kind::Text, false),
        ],
    )
}

/// Category of frames that could not be read.
pub const UNQUALIFIED: &str = "websocket_frames_unqualified";
