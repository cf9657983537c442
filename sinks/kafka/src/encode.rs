//! Turning one batch into Kafka messages: one JSON object per row, or one
//! Arrow IPC stream per key. Both are deterministic, so a retried write
//! numbers its messages (`qdp.part`) exactly as the first attempt did and a
//! consumer can drop what it already has.

use crate::config::Format;
use qdp_sdk::arrow::array::{Array, RecordBatch, UInt32Array};
use qdp_sdk::arrow::compute::take_record_batch;
use qdp_sdk::arrow::ipc::writer::StreamWriter;
use qdp_sdk::arrow::json::{LineDelimitedWriter, WriterBuilder, writer::LineDelimited};
use qdp_sdk::arrow::util::display::{ArrayFormatter, FormatOptions};
use qdp_sdk::{PluginError, Result};
use std::collections::HashMap;
use std::sync::Arc;

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Message key: the row's identifier value, `None` without a key column
    /// or for a null value.
    pub key: Option<String>,
    /// Encoded rows.
    pub payload: Vec<u8>,
    /// Rows in the payload.
    pub rows: usize,
}

/// Encodes `batch` as messages keyed by column `key` (an index into its schema).
pub fn encode(
    batch: &RecordBatch,
    format: Format,
    key: Option<usize>,
    max_bytes: usize,
) -> Result<Vec<Message>> {
    let keys = match key {
        Some(i) => key_values(batch.column(i).as_ref())?,
        None => vec![None; batch.num_rows()],
    };
    match format {
        Format::Json => json_rows(batch, keys),
        Format::Arrow => arrow_groups(batch, keys, max_bytes),
    }
}

/// Each value of the key column as text (what Kafka partitions on).
fn key_values(col: &dyn Array) -> Result<Vec<Option<String>>> {
    let f = ArrayFormatter::try_new(col, &FormatOptions::default())?;
    Ok((0..col.len())
        .map(|i| col.is_valid(i).then(|| f.value(i).to_string()))
        .collect())
}

fn json_rows(batch: &RecordBatch, keys: Vec<Option<String>>) -> Result<Vec<Message>> {
    let mut w: LineDelimitedWriter<Vec<u8>> = WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, LineDelimited>(Vec::new());
    w.write(batch)?;
    w.finish()?;
    let text = w.into_inner();
    // JSON strings escape newlines, so every '\n' ends one row's object.
    let lines: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() != batch.num_rows() {
        return Err(PluginError::internal(format!(
            "the JSON writer gave {} lines for {} rows",
            lines.len(),
            batch.num_rows()
        )));
    }
    Ok(lines
        .into_iter()
        .zip(keys)
        .map(|(line, key)| Message {
            key,
            payload: line.to_vec(),
            rows: 1,
        })
        .collect())
}

fn arrow_groups(
    batch: &RecordBatch,
    keys: Vec<Option<String>>,
    max_bytes: usize,
) -> Result<Vec<Message>> {
    // Groups in order of first appearance; rows keep their order inside a group.
    let mut order: Vec<Option<String>> = Vec::new();
    let mut rows: HashMap<Option<String>, Vec<u32>> = HashMap::new();
    for (i, k) in keys.into_iter().enumerate() {
        let idx = u32::try_from(i)
            .map_err(|_| PluginError::internal("a batch of more than 2^32 rows"))?;
        rows.entry(k.clone())
            .or_insert_with(|| {
                order.push(k);
                Vec::new()
            })
            .push(idx);
    }
    let mut out = Vec::new();
    for k in order {
        let idx = rows.remove(&k).unwrap_or_default();
        let group = if idx.len() == batch.num_rows() {
            batch.clone()
        } else {
            take_record_batch(batch, &UInt32Array::from(idx))?
        };
        sized(&group, &k, max_bytes, &mut out)?;
    }
    Ok(out)
}

/// Pushes `batch` as one message, or as halves while it is too large.
fn sized(
    batch: &RecordBatch,
    key: &Option<String>,
    max_bytes: usize,
    out: &mut Vec<Message>,
) -> Result<()> {
    let payload = ipc(batch)?;
    let n = batch.num_rows();
    if payload.len() > max_bytes && n > 1 {
        let half = n / 2;
        sized(&compact(&batch.slice(0, half))?, key, max_bytes, out)?;
        return sized(&compact(&batch.slice(half, n - half))?, key, max_bytes, out);
    }
    out.push(Message {
        key: key.clone(),
        payload,
        rows: n,
    });
    Ok(())
}

/// A copy of a sliced batch that owns only its rows, so the IPC payload
/// holds nothing of the other half.
fn compact(batch: &RecordBatch) -> Result<RecordBatch> {
    let all = UInt32Array::from_iter_values(0..batch.num_rows() as u32);
    Ok(take_record_batch(batch, &all)?)
}

/// One Arrow IPC stream: the schema (with its `qdp.*` metadata) and the batch.
pub fn ipc(batch: &RecordBatch) -> Result<Vec<u8>> {
    let mut w = StreamWriter::try_new(Vec::new(), &Arc::clone(&batch.schema()))?;
    w.write(batch)?;
    w.finish()?;
    Ok(w.into_inner()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qdp_sdk::arrow::array::{Float64Array, StringArray, TimestampNanosecondArray};
    use qdp_sdk::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use qdp_sdk::arrow::ipc::reader::StreamReader;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("symbol_code", DataType::Utf8, false),
            Field::new("price", DataType::Float64, true),
            Field::new(
                "tick_time",
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                false,
            ),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["CLF6", "NGF6", "CLF6", "CLF6"])),
                Arc::new(Float64Array::from(vec![
                    Some(70.5),
                    None,
                    Some(70.51),
                    Some(70.52),
                ])),
                Arc::new(
                    TimestampNanosecondArray::from(vec![1, 2, 3, 1_772_461_800_123_456_789])
                        .with_timezone("UTC"),
                ),
            ],
        )
        .unwrap()
    }

    fn decode(payload: &[u8]) -> RecordBatch {
        let mut r = StreamReader::try_new(payload, None).unwrap();
        let b = r.next().unwrap().unwrap();
        assert!(r.next().is_none());
        b
    }

    #[test]
    fn json_is_one_object_per_row_with_explicit_nulls_and_rfc3339_times() {
        let m = encode(&batch(), Format::Json, Some(0), 1_000_000).unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].key.as_deref(), Some("CLF6"));
        assert_eq!(m[1].key.as_deref(), Some("NGF6"));
        let second = String::from_utf8(m[1].payload.clone()).unwrap();
        assert_eq!(
            second,
            r#"{"symbol_code":"NGF6","price":null,"tick_time":"1970-01-01T00:00:00.000000002Z"}"#
        );
        let last = String::from_utf8(m[3].payload.clone()).unwrap();
        assert!(
            last.contains(r#""tick_time":"2026-03-02T14:30:00.123456789Z""#),
            "{last}"
        );
    }

    #[test]
    fn arrow_is_one_stream_per_key_in_row_order() {
        let m = encode(&batch(), Format::Arrow, Some(0), 1_000_000).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].key.as_deref(), m[0].rows), (Some("CLF6"), 3));
        assert_eq!((m[1].key.as_deref(), m[1].rows), (Some("NGF6"), 1));
        let cl = decode(&m[0].payload);
        let prices = cl
            .column(1)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(prices.values().to_vec(), vec![70.5, 70.51, 70.52]);
    }

    #[test]
    fn large_arrow_groups_are_split_until_they_fit() {
        let b = batch();
        let whole = ipc(&b).unwrap().len();
        let m = encode(&b, Format::Arrow, None, whole - 1).unwrap();
        assert!(m.len() > 1);
        assert_eq!(m.iter().map(|x| x.rows).sum::<usize>(), 4);
        let again = encode(&b, Format::Arrow, None, whole - 1).unwrap();
        assert_eq!(m, again, "encoding is deterministic");
    }
}
