//! Rows as read from a page, sorted into bronze rows and unqualified rows,
//! and the Arrow batches of both.

use crate::table::TableSpec;
use qdp_sdk::arrow::array::{ArrayRef, RecordBatch, StringArray};
use qdp_sdk::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use qdp_sdk::{PluginError, Result};
use std::sync::{Arc, OnceLock};

/// Category of rows that cannot be loaded incrementally or could not be read.
pub const UNQUALIFIED: &str = "sql_rows_unqualified";

/// Metadata columns at the front of every bronze batch (shared contract).
pub const META: [&str; 4] = ["_row_id", "_source_object", "_source_sha256", "_row_number"];

/// Column telling whether the row carries the soft-delete marker.
pub const DELETED: &str = "_deleted";

/// A row as a backend read it: the rendered columns of
/// [`TableSpec::rendered`] (or why one could not be read), then the exact
/// text of [`TableSpec::keys`].
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    /// Text of each rendered column; `Err` says why a value could not be read.
    pub rendered: Vec<Result<Option<String>, String>>,
    /// Database text of `updated_at` and the primary key.
    pub keys: Vec<Option<String>>,
}

/// The schema of `bronze_<dataset>` batches with these data columns.
pub fn bronze_schema<'a>(columns: impl Iterator<Item = &'a str>, deleted: bool) -> SchemaRef {
    let mut fields: Vec<Field> = META
        .iter()
        .map(|m| Field::new(*m, DataType::Utf8, false))
        .collect();
    if deleted {
        fields.push(Field::new(DELETED, DataType::Utf8, false));
    }
    fields.extend(columns.map(|c| Field::new(c, DataType::Utf8, true)));
    Arc::new(Schema::new(fields))
}

/// The schema of unqualified rows: the metadata columns, every value as a
/// JSON object of texts (tables differ in columns), and the reason.
pub fn unqualified_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        let mut fields: Vec<Field> = META
            .iter()
            .map(|m| Field::new(*m, DataType::Utf8, false))
            .collect();
        fields.push(Field::new("row_json", DataType::Utf8, false));
        fields.push(Field::new("unqualified_reason", DataType::Utf8, false));
        Arc::new(Schema::new(fields))
    })
    .clone()
}

/// Rows of one page, sorted.
#[derive(Debug, Default)]
pub struct Sorted {
    /// Bronze rows: `_row_id`, `_deleted` (when configured), then the data columns.
    pub bronze: Vec<Vec<Option<String>>>,
    /// Unqualified rows: `_row_id`, `row_json`, reason.
    pub unqualified: Vec<[String; 3]>,
}

/// The primary key text of a row (`|`-joined), from its rendered columns.
pub fn pk_text(t: &TableSpec, row: &RawRow) -> String {
    let first = t.columns.len() + 1;
    row.rendered[first..first + t.pk.len()]
        .iter()
        .map(|v| match v {
            Ok(Some(s)) => s.clone(),
            _ => String::new(),
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// Sorts `rows` of table `t` into bronze and unqualified rows.
pub fn sort(t: &TableSpec, rows: Vec<RawRow>) -> Sorted {
    let mut out = Sorted::default();
    let n = t.columns.len();
    let qualified = t.qualified();
    for row in rows {
        let pk = pk_text(t, &row);
        let bad: Vec<String> = t
            .rendered()
            .iter()
            .zip(&row.rendered)
            .filter_map(|(c, v)| {
                v.as_ref()
                    .err()
                    .map(|e| format!("column `{}`: {e}", c.name))
            })
            .collect();
        let updated_at = match &row.rendered[n] {
            Ok(v) => v.clone(),
            Err(_) => None,
        };
        let reason = if !bad.is_empty() {
            Some(bad.join("; "))
        } else if updated_at.is_none() {
            Some(format!(
                "`{}` is NULL: the row can never be read incrementally; set `{}` on this row",
                t.updated_at.name, t.updated_at.name
            ))
        } else {
            None
        };
        let ua = updated_at.unwrap_or_default();
        let row_id = format!("{qualified}:{pk}:{ua}");
        if let Some(reason) = reason {
            out.unqualified
                .push([row_id, row_json(t, &row.rendered[..n]), reason]);
            continue;
        }
        let mut cells = Vec::with_capacity(n + 2);
        cells.push(Some(row_id));
        if let Some((_, value)) = &t.deleted {
            let marker = row.rendered.last().and_then(|v| v.clone().ok()).flatten();
            let deleted = match (value, marker) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(want), Some(got)) => *want == got,
            };
            cells.push(Some(deleted.to_string()));
        }
        cells.extend(row.rendered.into_iter().take(n).map(|v| v.ok().flatten()));
        out.bronze.push(cells);
    }
    out
}

fn row_json(t: &TableSpec, values: &[Result<Option<String>, String>]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = t
        .columns
        .iter()
        .zip(values)
        .map(|(c, v)| {
            let j = match v {
                Ok(Some(s)) => serde_json::Value::String(s.clone()),
                _ => serde_json::Value::Null,
            };
            (c.name.clone(), j)
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// The bronze batch of `rows` (as made by [`sort`]).
pub fn bronze_batch(
    schema: &SchemaRef,
    t: &TableSpec,
    rows: &[Vec<Option<String>>],
) -> Result<RecordBatch> {
    let qualified = t.qualified();
    let width = schema.fields().len();
    let lead = if t.deleted.is_some() { 2 } else { 1 };
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(width);
    cols.push(Arc::new(StringArray::from_iter(
        rows.iter().map(|r| r[0].clone()),
    )));
    cols.push(Arc::new(StringArray::from_iter_values(
        rows.iter().map(|_| qualified.as_str()),
    )));
    for _ in 0..2 {
        cols.push(Arc::new(StringArray::from_iter_values(
            rows.iter().map(|_| ""),
        )));
    }
    for i in 1..lead + t.columns.len() {
        cols.push(Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r[i].clone()),
        )));
    }
    if cols.len() != width {
        return Err(PluginError::internal(format!(
            "bronze batch of `{qualified}` has {} columns, its schema {width}",
            cols.len()
        )));
    }
    Ok(RecordBatch::try_new(schema.clone(), cols)?)
}

/// The unqualified batch of `rows` (as made by [`sort`]).
pub fn unqualified_batch(t: &TableSpec, rows: &[[String; 3]]) -> Result<RecordBatch> {
    let qualified = t.qualified();
    let col = |i: usize| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r[i].as_str()),
        ))
    };
    let constant =
        |v: &str| -> ArrayRef { Arc::new(StringArray::from_iter_values(rows.iter().map(|_| v))) };
    Ok(RecordBatch::try_new(
        unqualified_schema(),
        vec![
            col(0),
            constant(&qualified),
            constant(""),
            constant(""),
            col(1),
            col(2),
        ],
    )?)
}
