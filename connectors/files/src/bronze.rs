//! Bronze and unqualified batches of one file.
//!
//! Bronze is schema-on-read: the metadata columns first (`_row_id`,
//! `_source_object`, `_source_sha256`, `_row_number`, NOT NULL), then one
//! nullable Utf8 column per header cell. A file with any unreadable row is
//! rejected whole: every row goes to `bronze_<dataset>_unqualified` with a
//! reason, so a file is either all in bronze or all in unqualified.

use crate::header;
use crate::parsed::{Parsed, Problem};
use qdp_sdk::Result;
use qdp_sdk::arrow::array::{ArrayRef, RecordBatch, StringArray};
use qdp_sdk::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use std::sync::{Arc, OnceLock};

/// The metadata columns, in order, at the front of every bronze batch.
pub const META: [&str; 4] = ["_row_id", "_source_object", "_source_sha256", "_row_number"];

/// The schema of `bronze_<dataset>_unqualified` batches.
pub fn unqualified_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let mut fields: Vec<Field> = META
                .iter()
                .map(|n| Field::new(*n, DataType::Utf8, false))
                .collect();
            fields.push(Field::new("dataset", DataType::Utf8, false));
            fields.push(Field::new("record", DataType::Utf8, false));
            fields.push(Field::new("unqualified_reason", DataType::Utf8, false));
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// The file a batch comes from.
#[derive(Debug, Clone)]
pub struct FileId<'a> {
    pub name: &'a str,
    pub sha256: &'a str,
    pub dataset: &'a str,
}

/// Bronze batches of at most `chunk` rows, or, when the file has problems,
/// unqualified batches holding every row.
pub fn batches(p: &Parsed, f: &FileId, chunk: usize) -> Result<Batches> {
    if !p.problems.is_empty() {
        return unqualified(p, f, chunk).map(Batches::Rejected);
    }
    let names = header::normalise(&p.header);
    let mut fields: Vec<Field> = META
        .iter()
        .map(|n| Field::new(*n, DataType::Utf8, false))
        .collect();
    fields.extend(names.iter().map(|n| Field::new(n, DataType::Utf8, true)));
    let schema = Arc::new(Schema::new(fields));
    let mut out = Vec::new();
    for rows in p.rows.chunks(chunk.max(1)) {
        let mut cols = meta_columns(f, rows.iter().map(|r| r.number));
        for c in 0..names.len() {
            cols.push(Arc::new(
                rows.iter()
                    .map(|r| r.values.get(c).cloned().flatten())
                    .collect::<StringArray>(),
            ));
        }
        out.push(RecordBatch::try_new(schema.clone(), cols)?);
    }
    Ok(Batches::Bronze(out))
}

/// What a file became.
#[derive(Debug)]
pub enum Batches {
    /// Rows of `bronze_<dataset>` (none for a file without data rows).
    Bronze(Vec<RecordBatch>),
    /// Rows of `bronze_<dataset>_unqualified`: the file is rejected.
    Rejected(Vec<RecordBatch>),
}

fn unqualified(p: &Parsed, f: &FileId, chunk: usize) -> Result<Vec<RecordBatch>> {
    let first = p.problems.iter().min_by_key(|x| x.number);
    let why = first.map(|x| x.reason.clone()).unwrap_or_default();
    let mut all: Vec<Problem> = p
        .rows
        .iter()
        .map(|r| Problem {
            number: r.number,
            text: r.text.clone(),
            reason: format!("{}: rejected with its file, whose {why}", f.name),
        })
        .chain(p.problems.iter().map(|x| Problem {
            reason: format!("{}: {}", f.name, x.reason),
            ..x.clone()
        }))
        .collect();
    all.sort_by_key(|x| x.number);
    let mut out = Vec::new();
    for rows in all.chunks(chunk.max(1)) {
        let mut cols = meta_columns(f, rows.iter().map(|r| r.number));
        let text = |g: &dyn Fn(&Problem) -> String| -> ArrayRef {
            Arc::new(rows.iter().map(|r| Some(g(r))).collect::<StringArray>())
        };
        cols.push(text(&|_| f.dataset.to_string()));
        cols.push(text(&|r| r.text.clone()));
        cols.push(text(&|r| r.reason.clone()));
        out.push(RecordBatch::try_new(unqualified_schema(), cols)?);
    }
    Ok(out)
}

fn meta_columns(f: &FileId, numbers: impl Iterator<Item = u64> + Clone) -> Vec<ArrayRef> {
    let n = numbers.clone().count();
    let same = |v: &str| -> ArrayRef {
        Arc::new(std::iter::repeat_n(Some(v), n).collect::<StringArray>())
    };
    vec![
        Arc::new(
            numbers
                .clone()
                .map(|i| Some(format!("{}:{i}", f.sha256)))
                .collect::<StringArray>(),
        ),
        same(f.name),
        same(f.sha256),
        Arc::new(
            numbers
                .map(|i| Some(i.to_string()))
                .collect::<StringArray>(),
        ),
    ]
}
