//! Building `<category>_unqualified` batches: the rejected rows with every
//! value as text and the reason.

use crate::schema::CategorySchema;
use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray, new_null_array};
use arrow::compute::{cast, filter};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use qdp_sdk::Result;
use std::sync::Arc;

/// The reject schema: category fields, then extra columns, all as nullable
/// text, then `unqualified_reason`.
pub fn reject_schema(cat: &CategorySchema, extras: &[String]) -> SchemaRef {
    let mut fields: Vec<Field> = cat
        .fields
        .iter()
        .map(|f| Field::new(&f.name, DataType::Utf8, true))
        .collect();
    fields.extend(extras.iter().map(|e| Field::new(e, DataType::Utf8, true)));
    fields.push(Field::new("unqualified_reason", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

/// Rejected rows of `values` (columns named like the reject schema's; a
/// missing one is null), selected by `bad`, with one reason per rejected row.
pub fn reject_batch(
    schema: &SchemaRef,
    values: &dyn Fn(&str) -> Option<ArrayRef>,
    bad: &BooleanArray,
    reasons: Vec<String>,
) -> Result<RecordBatch> {
    let n = reasons.len();
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for f in schema.fields().iter().take(schema.fields().len() - 1) {
        let col = match values(f.name()) {
            Some(c) => cast(&filter(&c, bad)?, &DataType::Utf8)?,
            None => new_null_array(&DataType::Utf8, n),
        };
        cols.push(col);
    }
    cols.push(Arc::new(StringArray::from(reasons)));
    Ok(RecordBatch::try_new(schema.clone(), cols)?)
}
