//! Helpers for the tests against a real broker: tick batches of the
//! category schema, writing them with the built `kafka` sink, reading them
//! with the built `kafka` source, and rows as comparable text.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use qdp_sdk::arrow::array::{
    Array, ArrayRef, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray,
};
use qdp_sdk::arrow::util::display::{ArrayFormatter, FormatOptions};
use qdp_sdk::conformance::built_library;
use qdp_sdk::ffi::host::{ForeignInstance, Kind, Polled};
use qdp_sdk::schema::registry;
use qdp_sdk::{Batch, BatchMeta, Context, SourceBatch};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const TICKS: &str = "derivatives_tick_market_data";

/// A batch of ticks: `rows_per_symbol` rows for each symbol, tick times
/// rising, tagged with `tag` in `component_instance_name`; open interest is
/// null on every third row.
pub fn ticks(seq: u64, symbols: &[&str], rows_per_symbol: usize, tag: &str) -> Batch {
    let schema = registry().get(TICKS).unwrap().arrow_schema();
    let mut sym = Vec::new();
    let mut time = Vec::new();
    let mut price = Vec::new();
    let mut oi = Vec::new();
    // Symbols interleaved, as a feed delivers them.
    for r in 0..rows_per_symbol {
        for (k, s) in symbols.iter().enumerate() {
            let n = seq as i64 * 1_000_000 + r as i64 * 100 + k as i64;
            sym.push(s.to_string());
            time.push(1_772_461_800_000_000_000 + n * 1_000 + 7);
            price.push(70.0 + n as f64 / 1000.0);
            oi.push((n % 3 != 0).then_some(1000.0 + n as f64));
        }
    }
    let n = sym.len();
    let text = |v: &str| Arc::new(StringArray::from(vec![v; n])) as ArrayRef;
    let ts =
        |v: Vec<i64>| Arc::new(TimestampNanosecondArray::from(v).with_timezone("UTC")) as ArrayRef;
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "source_system_name" => text("sim"),
            "exchange_code" => text("NYMEX"),
            "symbol_code" => Arc::new(StringArray::from(sym.clone())) as ArrayRef,
            "symbol_type" => text("future"),
            "price" => Arc::new(Float64Array::from(price.clone())) as ArrayRef,
            "price_unit" => text("1_USD"),
            "size" => Arc::new(Float64Array::from(vec![2.0; n])) as ArrayRef,
            "size_unit" => text("1_contract"),
            "tick_time" => ts(time.clone()),
            "open_interest" => Arc::new(Float64Array::from(oi.clone())) as ArrayRef,
            "open_interest_unit" => Arc::new(StringArray::from(
                oi.iter()
                    .map(|o| o.map(|_| "1_contract"))
                    .collect::<Vec<_>>(),
            )) as ArrayRef,
            "component_instance_name" => text(tag),
            "ingestion_time" => ts(vec![1_772_461_900_000_000_001; n]),
            other => panic!("unexpected tick field {other}"),
        })
        .collect();
    Batch {
        data: RecordBatch::try_new(schema, columns).unwrap(),
        meta: BatchMeta {
            category: TICKS.into(),
            source_system: "sim".into(),
            origin: "ticks".into(),
            seq,
            producer: "ticks".into(),
            ..Default::default()
        },
    }
}

/// Writes `batches` with a new instance of the built sink.
pub fn write(options: Value, batches: &[Batch]) {
    let lib = built_library("qdp_sink_kafka").unwrap();
    let ctx = Context {
        pipeline: "connector".into(),
        ..Context::default()
    };
    let mut s = lib.instantiate(Kind::Sink, &options, &ctx).unwrap();
    s.start(None).unwrap();
    s.write(batches).unwrap();
    s.shutdown().unwrap();
}

/// A started instance of the built source.
pub fn source(options: &Value) -> ForeignInstance {
    let lib = built_library("qdp_kafka").unwrap();
    let mut s = lib
        .instantiate(Kind::Source, options, &Context::default())
        .unwrap();
    s.start(None).unwrap();
    s
}

/// Source options reading `topics` in group `group`.
pub fn source_options(bootstrap: &str, group: &str, topics: Value) -> Value {
    json!({
        "brokers": bootstrap,
        "group_id": group,
        "topics": topics,
        "batch_size": 50,
        "max_wait": "50ms",
    })
}

/// Polls until `done` holds for what was read (acking every batch when
/// `ack`), or panics after 60 s.
pub fn read_until(
    s: &mut ForeignInstance,
    ack: bool,
    mut done: impl FnMut(&[SourceBatch]) -> bool,
) -> Vec<SourceBatch> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(&out) {
        assert!(
            Instant::now() < deadline,
            "timed out after {} batches ({} rows)",
            out.len(),
            rows(&out).len()
        );
        if let Polled::Batch(b) = s.poll(Duration::from_millis(100)).unwrap() {
            if ack {
                s.ack(&b.checkpoint).unwrap();
            }
            out.push(b);
        }
    }
    out
}

/// Every row of the tick batches in `batches`, as `col=value|...` text, in order.
pub fn rows(batches: &[SourceBatch]) -> Vec<String> {
    batches
        .iter()
        .filter(|b| b.category == TICKS)
        .flat_map(|b| batch_rows(&b.data))
        .collect()
}

/// Rows of one record batch as text.
pub fn batch_rows(b: &RecordBatch) -> Vec<String> {
    let opts = FormatOptions::default().with_null("NULL");
    let cols: Vec<ArrayFormatter> = b
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
        .collect();
    let names: Vec<String> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    (0..b.num_rows())
        .map(|i| {
            names
                .iter()
                .zip(&cols)
                .map(|(n, c)| format!("{n}={}", c.value(i)))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// The value of `col` in a row made by [`rows`].
pub fn field<'a>(row: &'a str, col: &str) -> &'a str {
    row.split('|')
        .find_map(|kv| kv.strip_prefix(col).and_then(|r| r.strip_prefix('=')))
        .unwrap()
}

/// Rows of the rejects category in `batches`.
pub fn rejects(batches: &[SourceBatch]) -> Vec<String> {
    batches
        .iter()
        .filter(|b| b.category == "kafka_messages_unqualified")
        .flat_map(|b| batch_rows(&b.data))
        .collect()
}

/// Whether a column is all valid (no nulls).
pub fn no_nulls(a: &dyn Array) -> bool {
    a.null_count() == 0
}
