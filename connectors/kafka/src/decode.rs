//! Payloads to Arrow: JSON objects through the category schema (or an
//! inferred one for categories without a schema), Arrow IPC streams as they
//! are, and anything unreadable as a row of `kafka_messages_unqualified`.

use crate::config::Format;
use base64::Engine;
use qdp_sdk::arrow::array::{Int32Array, Int64Array, RecordBatch, StringArray};
use qdp_sdk::arrow::compute::concat_batches;
use qdp_sdk::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use qdp_sdk::arrow::ipc::reader::StreamReader;
use qdp_sdk::arrow::json::ReaderBuilder;
use qdp_sdk::arrow::json::reader::infer_json_schema_from_iterator;
use qdp_sdk::batch::schema_difference;
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

/// Category of messages that could not be read.
pub const UNQUALIFIED: &str = "kafka_messages_unqualified";

/// A message as received, detached from the consumer.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Key bytes.
    pub key: Option<Vec<u8>>,
    /// Payload bytes (`None` for a tombstone).
    pub payload: Option<Vec<u8>>,
    /// Headers, values as (lossy) text.
    pub headers: BTreeMap<String, String>,
}

/// How a payload is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One JSON object.
    Json,
    /// An Arrow IPC stream.
    Arrow,
}

/// The payload's encoding: the configured one, else the `qdp.format`
/// header, else Arrow when the payload starts with the IPC continuation
/// marker `0xFFFFFFFF`.
pub fn kind(format: Format, m: &Incoming) -> Kind {
    match format {
        Format::Json => Kind::Json,
        Format::Arrow => Kind::Arrow,
        Format::Auto => match m.headers.get("qdp.format").map(String::as_str) {
            Some("arrow") => Kind::Arrow,
            Some("json") => Kind::Json,
            _ if m
                .payload
                .as_deref()
                .is_some_and(|p| p.starts_with(&[0xff; 4])) =>
            {
                Kind::Arrow
            }
            _ => Kind::Json,
        },
    }
}

/// Every batch of an Arrow IPC stream, made to match `declared` when the
/// category has a schema.
pub fn arrow(payload: &[u8], declared: Option<&SchemaRef>) -> Result<Vec<RecordBatch>, String> {
    let reader = StreamReader::try_new(payload, None)
        .map_err(|e| format!("not an Arrow IPC stream: {e}"))?;
    let mut out = Vec::new();
    for b in reader {
        let b = b.map_err(|e| format!("broken Arrow IPC stream: {e}"))?;
        out.push(match declared {
            Some(s) => conform(b, s)?,
            None => b,
        });
    }
    Ok(out)
}

/// `b` under the declared schema (same columns; metadata from the
/// declaration), or why it does not fit.
fn conform(b: RecordBatch, declared: &SchemaRef) -> Result<RecordBatch, String> {
    if let Some(diff) = schema_difference(declared, &b.schema()) {
        return Err(format!("does not match the category schema: {diff}"));
    }
    RecordBatch::try_new(Arc::clone(declared), b.columns().to_vec()).map_err(|e| e.to_string())
}

/// Decodes JSON payloads (one object each) under `schema`. Returns the rows
/// of the good ones, in order, and `(index, reason)` for the others.
pub fn json(schema: &SchemaRef, payloads: &[&[u8]]) -> (Option<RecordBatch>, Vec<(usize, String)>) {
    if payloads.is_empty() {
        return (None, Vec::new());
    }
    // Fast path: all at once; on any failure, one by one to find the culprits.
    let mut joined = Vec::with_capacity(payloads.iter().map(|p| p.len() + 1).sum());
    for p in payloads {
        joined.extend_from_slice(p);
        joined.push(b'\n');
    }
    if let Ok(b) = json_rows(schema, &joined, payloads.len())
        && b.num_rows() == payloads.len()
    {
        return (Some(b), Vec::new());
    }
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        match json_rows(schema, p, 1) {
            Ok(b) => good.push(b),
            Err(e) => bad.push((i, e)),
        }
    }
    match concat_batches(schema, &good) {
        Ok(b) if b.num_rows() > 0 => (Some(b), bad),
        _ => (None, bad),
    }
}

fn json_rows(schema: &SchemaRef, bytes: &[u8], capacity: usize) -> Result<RecordBatch, String> {
    let mut d = ReaderBuilder::new(Arc::clone(schema))
        .with_batch_size(capacity.max(1))
        .build_decoder()
        .map_err(|e| e.to_string())?;
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = d
            .decode(rest)
            .map_err(|e| format!("not a JSON record of the schema: {e}"))?;
        if n == 0 {
            // The decoder holds a full batch: more records than expected.
            return Err(format!(
                "holds more than {capacity} JSON record(s); one per message expected"
            ));
        }
        rest = &rest[n..];
    }
    if d.has_partial_record() {
        return Err("not a complete JSON object".into());
    }
    d.flush()
        .map_err(|e| format!("not a JSON record of the schema: {e}"))?
        .ok_or_else(|| "empty JSON payload".to_string())
}

/// A schema inferred from the JSON objects among `payloads` (numbers,
/// booleans and text; timestamps stay text), for categories without a
/// category schema. Non-objects are reported as `(index, reason)`.
pub fn infer(payloads: &[&[u8]]) -> Result<(SchemaRef, Vec<(usize, String)>), String> {
    let mut values = Vec::new();
    let mut bad = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        match serde_json::from_slice::<serde_json::Value>(p) {
            Ok(v @ serde_json::Value::Object(_)) => values.push(v),
            Ok(_) => bad.push((i, "not a JSON object".to_string())),
            Err(e) => bad.push((i, format!("not JSON: {e}"))),
        }
    }
    let schema = infer_json_schema_from_iterator(values.iter().map(Ok))
        .map_err(|e| format!("cannot infer a schema: {e}"))?;
    Ok((Arc::new(schema), bad))
}

static REJECTS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("topic", DataType::Utf8, false),
        Field::new("partition", DataType::Int32, false),
        Field::new("offset", DataType::Int64, false),
        Field::new("key", DataType::Utf8, true),
        Field::new("payload", DataType::Utf8, true),
        Field::new("payload_encoding", DataType::Utf8, false),
        Field::new("headers", DataType::Utf8, false),
        Field::new("unqualified_reason", DataType::Utf8, false),
    ]))
});

/// Schema of `kafka_messages_unqualified`: where the message was, its key
/// and payload (text when UTF-8, else base64 with `payload_encoding` =
/// `base64`), its headers as a JSON object, and why it was not read.
pub fn rejects_schema() -> SchemaRef {
    Arc::clone(&REJECTS)
}

/// One batch of rejects.
pub fn rejects(rows: &[(Incoming, String)]) -> Result<RecordBatch, String> {
    let text = |b: &[u8]| match std::str::from_utf8(b) {
        Ok(s) => (s.to_string(), "utf8"),
        Err(_) => (
            base64::engine::general_purpose::STANDARD.encode(b),
            "base64",
        ),
    };
    let payloads: Vec<(Option<String>, &str)> = rows
        .iter()
        .map(|(m, _)| match &m.payload {
            Some(p) => {
                let (t, enc) = text(p);
                (Some(t), enc)
            }
            None => (None, "none"),
        })
        .collect();
    RecordBatch::try_new(
        rejects_schema(),
        vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(m, _)| m.topic.as_str()),
            )),
            Arc::new(Int32Array::from_iter_values(
                rows.iter().map(|(m, _)| m.partition),
            )),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|(m, _)| m.offset),
            )),
            Arc::new(StringArray::from_iter(
                rows.iter()
                    .map(|(m, _)| m.key.as_deref().map(|k| text(k).0)),
            )),
            Arc::new(StringArray::from_iter(
                payloads.iter().map(|(p, _)| p.clone()),
            )),
            Arc::new(StringArray::from_iter_values(
                payloads.iter().map(|(_, e)| *e),
            )),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|(m, _)| {
                serde_json::to_string(&m.headers).unwrap_or_default()
            }))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(_, r)| r.as_str()),
            )),
        ],
    )
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use qdp_sdk::schema::registry;

    fn tick_schema() -> SchemaRef {
        registry()
            .get("derivatives_tick_market_data")
            .unwrap()
            .arrow_schema()
    }

    fn tick(symbol: &str) -> String {
        format!(
            r#"{{"source_system_name":"sim","component_instance_name":"c","ingestion_time":"2026-03-02T14:30:00.000000001Z","exchange_code":"NYMEX","symbol_code":"{symbol}","symbol_type":"future","price":70.5,"price_unit":"1_USD","size":2.0,"size_unit":"1_contract","tick_time":"2026-03-02T14:30:00.123456789Z","open_interest":null,"open_interest_unit":null}}"#
        )
    }

    #[test]
    fn json_rows_decode_through_the_category_schema_and_bad_ones_are_named() {
        let s = tick_schema();
        let a = tick("CLF6");
        let b = tick("NGF6");
        let payloads: Vec<&[u8]> = vec![
            a.as_bytes(),
            b"{not json",
            b.as_bytes(),
            br#"{"symbol_code":"X"}"#,
            b"[1,2]",
        ];
        let (rows, bad) = json(&s, &payloads);
        let rows = rows.unwrap();
        assert_eq!(rows.num_rows(), 2);
        assert_eq!(rows.schema(), s);
        let idx: Vec<usize> = bad.iter().map(|(i, _)| *i).collect();
        assert_eq!(idx, vec![1, 3, 4], "{bad:?}");
    }

    #[test]
    fn two_records_in_one_message_are_refused() {
        let s = tick_schema();
        let two = format!("{}{}", tick("A"), tick("B"));
        let one = tick("C");
        let (rows, bad) = json(&s, &[two.as_bytes(), one.as_bytes()]);
        assert_eq!(rows.unwrap().num_rows(), 1);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].1.contains("more than 1 JSON record"), "{bad:?}");
    }

    #[test]
    fn format_is_read_from_the_header_or_guessed() {
        let mut m = Incoming {
            topic: "t".into(),
            partition: 0,
            offset: 0,
            key: None,
            payload: Some(vec![0xff, 0xff, 0xff, 0xff, 1]),
            headers: BTreeMap::new(),
        };
        assert_eq!(kind(Format::Auto, &m), Kind::Arrow);
        m.headers.insert("qdp.format".into(), "json".into());
        assert_eq!(kind(Format::Auto, &m), Kind::Json);
        assert_eq!(kind(Format::Arrow, &m), Kind::Arrow);
    }

    #[test]
    fn rejects_keep_binary_payloads_as_base64() {
        let m = Incoming {
            topic: "t".into(),
            partition: 3,
            offset: 9,
            key: Some(b"CLF6".to_vec()),
            payload: Some(vec![0, 159, 146, 150]),
            headers: BTreeMap::new(),
        };
        let b = rejects(&[(m, "broken".into())]).unwrap();
        let enc = b.column(5).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(enc.value(0), "base64");
    }
}
