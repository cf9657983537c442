//! The built `kafka` sink against a real broker: keys, partitions, order,
//! headers and payloads as an outside consumer reads them, rejects keyed by
//! their identifier, and a write that fails while the broker is down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Read, read_topic};
use qdp_sdk::arrow::array::{
    Array, ArrayRef, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray,
};
use qdp_sdk::arrow::ipc::reader::StreamReader;
use qdp_sdk::conformance::built_library;
use qdp_sdk::ffi::host::{ForeignInstance, Kind};
use qdp_sdk::schema::registry;
use qdp_sdk::{Batch, BatchMeta, Context, ErrorDomain};
use qdp_test_services::Kafka;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

const TICKS: &str = "derivatives_tick_market_data";
const SYMBOLS: [&str; 4] = ["CLF6", "NGF6", "HOF6", "RBF6"];

/// Ticks of the category schema: `per_symbol` rows for each symbol, interleaved.
fn ticks(seq: u64, per_symbol: usize) -> Batch {
    let schema = registry().get(TICKS).unwrap().arrow_schema();
    let n = per_symbol * SYMBOLS.len();
    let sym: Vec<&str> = (0..n).map(|i| SYMBOLS[i % SYMBOLS.len()]).collect();
    let t: Vec<i64> = (0..n as i64)
        .map(|i| 1_772_461_800_000_000_000 + seq as i64 * 1000 + i)
        .collect();
    let text = |v: &str| Arc::new(StringArray::from(vec![v; n])) as ArrayRef;
    let ts =
        |v: Vec<i64>| Arc::new(TimestampNanosecondArray::from(v).with_timezone("UTC")) as ArrayRef;
    let cols = schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "symbol_code" => Arc::new(StringArray::from(sym.clone())) as ArrayRef,
            "price" | "size" => Arc::new(Float64Array::from(vec![1.5; n])) as ArrayRef,
            "open_interest" => Arc::new(Float64Array::from(vec![None; n])) as ArrayRef,
            "open_interest_unit" => Arc::new(StringArray::from(vec![None::<&str>; n])) as ArrayRef,
            "tick_time" => ts(t.clone()),
            "ingestion_time" => ts(vec![1; n]),
            "symbol_type" => text("future"),
            _ => text("x_1"),
        })
        .collect();
    Batch {
        data: RecordBatch::try_new(schema, cols).unwrap(),
        meta: BatchMeta {
            category: TICKS.into(),
            source_system: "sim".into(),
            origin: "ticks".into(),
            seq,
            producer: "validate".into(),
            ..Default::default()
        },
    }
}

fn sink(options: Value) -> ForeignInstance {
    let lib = built_library("qdp_sink_kafka").unwrap();
    let ctx = Context {
        pipeline: "connector".into(),
        ..Context::default()
    };
    let mut s = lib.instantiate(Kind::Sink, &options, &ctx).unwrap();
    s.start(None).unwrap();
    s
}

/// Messages per partition, in log order.
fn by_partition(msgs: &[Read]) -> BTreeMap<i32, Vec<&Read>> {
    let mut m: BTreeMap<i32, Vec<&Read>> = BTreeMap::new();
    for r in msgs {
        m.entry(r.partition).or_default().push(r);
    }
    m
}

/// Every key lives in one partition, and within it (seq, part) only rises.
fn assert_keyed_and_ordered(msgs: &[Read]) {
    let mut home: BTreeMap<String, i32> = BTreeMap::new();
    for r in msgs {
        let k = r.key.clone().unwrap();
        assert_eq!(
            *home.entry(k.clone()).or_insert(r.partition),
            r.partition,
            "{k} in two partitions"
        );
    }
    assert!(
        home.values()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            > 1,
        "keys spread over partitions"
    );
    for (p, list) in by_partition(msgs) {
        let pos: Vec<(u64, u64)> = list
            .iter()
            .map(|r| {
                (
                    r.headers["qdp.seq"].parse().unwrap(),
                    r.headers["qdp.part"].parse().unwrap(),
                )
            })
            .collect();
        assert!(
            pos.windows(2).all(|w| w[0] < w[1]),
            "partition {p} out of order: {pos:?}"
        );
    }
}

#[test]
fn json_messages_are_rows_keyed_by_symbol_with_dedup_headers() {
    let Some(kafka) = Kafka::start() else { return };
    let b = kafka.bootstrap();
    let mut s = sink(json!({ "brokers": b, "partitions": 4 }));
    s.write(&[ticks(0, 3), ticks(1, 3)]).unwrap();
    s.shutdown().unwrap();
    let msgs = read_topic(&b, TICKS).unwrap();
    assert_eq!(msgs.len(), 24);
    assert_keyed_and_ordered(&msgs);
    for r in &msgs {
        let h = &r.headers;
        assert_eq!(
            (
                h["qdp.category"].as_str(),
                h["qdp.source_system"].as_str(),
                h["qdp.pipeline"].as_str()
            ),
            (TICKS, "sim", "connector")
        );
        assert_eq!(
            (h["qdp.origin"].as_str(), h["qdp.producer"].as_str()),
            ("ticks", "validate")
        );
        assert_eq!(
            (h["qdp.rows"].as_str(), h["qdp.format"].as_str()),
            ("1", "json")
        );
        let row: Value = serde_json::from_slice(&r.payload).unwrap();
        assert_eq!(row["symbol_code"].as_str(), r.key.as_deref());
        assert!(row["open_interest"].is_null(), "nulls are explicit: {row}");
        assert!(row["tick_time"].as_str().unwrap().ends_with('Z'));
    }
}

#[test]
fn arrow_messages_hold_one_symbol_of_one_batch_each() {
    let Some(kafka) = Kafka::start() else { return };
    let b = kafka.bootstrap();
    let mut s = sink(json!({ "brokers": b, "format": "arrow", "partitions": 4 }));
    s.write(&[ticks(0, 5), ticks(1, 5), ticks(2, 5)]).unwrap();
    s.shutdown().unwrap();
    let msgs = read_topic(&b, TICKS).unwrap();
    assert_eq!(
        msgs.len(),
        3 * SYMBOLS.len(),
        "one message per (batch, symbol)"
    );
    assert_keyed_and_ordered(&msgs);
    for r in &msgs {
        assert_eq!(
            (
                r.headers["qdp.rows"].as_str(),
                r.headers["qdp.format"].as_str()
            ),
            ("5", "arrow")
        );
        let batch = StreamReader::try_new(r.payload.as_slice(), None)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(batch.schema().metadata()["qdp.identifier"], "symbol_code");
        let sym = batch.column_by_name("symbol_code").unwrap();
        let sym = sym.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(sym.len(), 5);
        assert!(sym.iter().all(|v| v == r.key.as_deref()));
    }
}

#[test]
fn rejects_go_to_their_own_topic_keyed_by_the_identifier() {
    let Some(kafka) = Kafka::start() else { return };
    let b = kafka.bootstrap();
    let cat = registry().get(TICKS).unwrap();
    let schema = cat.unqualified_schema();
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "symbol_code" => Arc::new(StringArray::from(vec!["CLF6", "NGF6"])) as ArrayRef,
            _ => Arc::new(StringArray::from(vec!["oops", "oops"])) as ArrayRef,
        })
        .collect();
    let mut s = sink(json!({ "brokers": b }));
    let rejects = Batch {
        data: RecordBatch::try_new(schema, cols).unwrap(),
        meta: BatchMeta {
            category: format!("{TICKS}_unqualified"),
            source_system: "sim".into(),
            origin: "ticks".into(),
            seq: 0,
            producer: "validate".into(),
            ..Default::default()
        },
    };
    s.write(&[rejects]).unwrap();
    let msgs = read_topic(&b, &format!("{TICKS}_unqualified")).unwrap();
    let keys: Vec<_> = msgs.iter().map(|m| m.key.clone().unwrap()).collect();
    assert_eq!(keys.len(), 2);
    assert!(keys.contains(&"CLF6".to_string()) && keys.contains(&"NGF6".to_string()));
}

#[test]
fn a_write_fails_retryably_while_the_broker_is_down_and_succeeds_after() {
    let Some(mut kafka) = Kafka::start() else {
        return;
    };
    let b = kafka.bootstrap();
    let mut s = sink(json!({ "brokers": b, "partitions": 2, "delivery_timeout": "3s" }));
    s.write(&[ticks(0, 2)]).unwrap();
    kafka.kill();
    let e = s.write(&[ticks(1, 2)]).unwrap_err();
    assert_eq!(
        (e.domain, e.retryable),
        (ErrorDomain::External, true),
        "{e}"
    );
    kafka.restart();
    // The runtime retries the same call with backoff until it succeeds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while let Err(e) = s.write(&[ticks(1, 2)]) {
        assert!(e.retryable, "{e}");
        assert!(std::time::Instant::now() < deadline, "still failing: {e}");
    }
    s.shutdown().unwrap();
    let msgs = read_topic(&b, TICKS).unwrap();
    assert_eq!(common::distinct_rows(&msgs), 16);
}
