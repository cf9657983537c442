//! The built `kafka` sink writes ticks as JSON and as Arrow to a real
//! broker; the built `kafka` source reads them back: every row once, the
//! same values, each symbol in order, and unreadable messages set aside.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TICKS, field, read_until, rejects, rows, source, source_options, ticks, write};
use qdp_sdk::arrow::array::RecordBatch;
use qdp_test_services::Kafka;
use rdkafka::ClientConfig;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const SYMBOLS: &[&str] = &["CLF6", "NGF6", "HOF6", "RBF6"];

fn produce_raw(bootstrap: &str, topic: &str, payloads: &[&[u8]]) {
    let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    for pl in payloads {
        p.send(BaseRecord::<str, [u8]>::to(topic).key("junk").payload(*pl))
            .map_err(|(e, _)| e)
            .unwrap();
    }
    p.flush(Duration::from_secs(30)).unwrap();
}

#[test]
fn ticks_round_trip_as_json_and_arrow_once_each_in_symbol_order() {
    let Some(kafka) = Kafka::start() else { return };
    let b = kafka.bootstrap();
    let json_batches: Vec<_> = (0..5).map(|s| ticks(s, SYMBOLS, 10, "json")).collect();
    let arrow_batches: Vec<_> = (0..5).map(|s| ticks(s, SYMBOLS, 10, "arrow")).collect();
    write(
        json!({ "brokers": b, "format": "json", "partitions": 3 }),
        &json_batches,
    );
    write(
        json!({ "brokers": b, "format": "arrow", "topic": "ticks_arrow", "partitions": 3 }),
        &arrow_batches,
    );
    // Two messages no reader could decode, between good ones.
    produce_raw(&b, TICKS, &[b"{oops", &[0, 159, 146, 150]]);

    let mut s = source(&source_options(
        &b,
        "roundtrip",
        json!([TICKS, { "topic": "ticks_arrow", "category": TICKS }]),
    ));
    let got = read_until(&mut s, true, |out| {
        rows(out).len() >= 400 && rejects(out).len() >= 2
    });
    s.shutdown().unwrap();

    // Every row once, with the values written.
    let expected: Vec<RecordBatch> = json_batches
        .iter()
        .chain(&arrow_batches)
        .map(|b| b.data.clone())
        .collect();
    let want: BTreeSet<String> = expected.iter().flat_map(common::batch_rows).collect();
    let have = rows(&got);
    assert_eq!(have.len(), 400, "rows read");
    assert_eq!(
        have.iter().cloned().collect::<BTreeSet<_>>(),
        want,
        "values differ"
    );

    // Each symbol of each format in tick order.
    let mut last: BTreeMap<(String, String), String> = BTreeMap::new();
    for r in &have {
        let k = (
            field(r, "component_instance_name").to_string(),
            field(r, "symbol_code").to_string(),
        );
        let t = field(r, "tick_time").to_string();
        if let Some(prev) = last.insert(k.clone(), t.clone()) {
            assert!(prev < t, "{k:?} out of order: {prev} then {t}");
        }
    }

    // Both bad messages are kept with where they were and why.
    let bad = rejects(&got);
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(
        bad.iter()
            .all(|r| field(r, "topic") == TICKS && field(r, "key") == "junk")
    );
    assert!(
        bad.iter()
            .any(|r| field(r, "payload") == "{oops" && field(r, "payload_encoding") == "utf8")
    );
    assert!(bad.iter().any(|r| field(r, "payload_encoding") == "base64"));
    assert!(
        bad.iter()
            .all(|r| !field(r, "unqualified_reason").is_empty())
    );
    // Declared schemas hold for what was emitted.
    let decl = {
        let lib = qdp_sdk::conformance::built_library("qdp_kafka").unwrap();
        let mut i = lib
            .instantiate(
                qdp_sdk::ffi::host::Kind::Source,
                &source_options(&b, "x", json!([TICKS])),
                &qdp_sdk::Context::default(),
            )
            .unwrap();
        i.outputs(&[]).unwrap()
    };
    for batch in &got {
        let d = decl.iter().find(|d| d.category == batch.category).unwrap();
        let schema = d.schema.as_ref().unwrap();
        assert_eq!(
            qdp_sdk::batch::schema_difference(schema, &batch.data.schema()),
            None
        );
    }
}

/// A batch of `category` with the given columns, as a transform emits it.
fn batch_of(category: &str, data: RecordBatch) -> qdp_sdk::Batch {
    qdp_sdk::Batch {
        data,
        meta: qdp_sdk::BatchMeta {
            category: category.into(),
            source_system: "ibkr_cpapi".into(),
            origin: "ibkr".into(),
            seq: 0,
            producer: "ibkr".into(),
            ..Default::default()
        },
    }
}

#[test]
fn rejects_and_raw_rows_round_trip_too() {
    use qdp_sdk::arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use qdp_sdk::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let Some(kafka) = Kafka::start() else { return };
    let b = kafka.bootstrap();
    // Rejects of the tick category: every column text, plus the reason.
    let cat = qdp_sdk::schema::registry().get(TICKS).unwrap();
    let rej_schema = cat.unqualified_schema();
    let rej_cols: Vec<ArrayRef> = rej_schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "price" => Arc::new(StringArray::from(vec![Some("abc"), None])) as ArrayRef,
            "unqualified_reason" => Arc::new(StringArray::from(vec![
                "price is not a number",
                "price is missing",
            ])),
            _ => Arc::new(StringArray::from(vec![Some("CLF6"), Some("NGF6")])),
        })
        .collect();
    let rejects = RecordBatch::try_new(rej_schema, rej_cols).unwrap();
    let rej_cat = format!("{TICKS}_unqualified");
    // Raw rows of a category without a schema.
    let raw_schema = Arc::new(Schema::new(vec![
        Field::new("conid", DataType::Utf8, false),
        Field::new("last", DataType::Float64, true),
        Field::new("updated_ms", DataType::Int64, false),
    ]));
    let raw = RecordBatch::try_new(
        raw_schema,
        vec![
            Arc::new(StringArray::from(vec!["495512572", "495512573"])),
            Arc::new(Float64Array::from(vec![Some(4015.25), Some(4016.5)])),
            Arc::new(Int64Array::from(vec![1_700_000_000_000, 1_700_000_000_001])),
        ],
    )
    .unwrap();
    for format in ["json", "arrow"] {
        let sink = json!({
            "brokers": b,
            "format": format,
            "topic": format!("{{category}}_{format}"),
            "fallback_key": "conid",
        });
        write(
            sink,
            &[
                batch_of(&rej_cat, rejects.clone()),
                batch_of("raw_ibkr_cpapi_ticks", raw.clone()),
            ],
        );
        let mut s = source(&source_options(
            &b,
            &format!("raw-{format}"),
            json!([
                { "topic": format!("{rej_cat}_{format}"), "category": rej_cat },
                { "topic": format!("raw_ibkr_cpapi_ticks_{format}"), "category": "raw_ibkr_cpapi_ticks" },
            ]),
        ));
        let count = |out: &[qdp_sdk::SourceBatch], c: &str| {
            out.iter()
                .filter(|x| x.category == c)
                .map(|x| x.data.num_rows())
                .sum::<usize>()
        };
        let got = read_until(&mut s, true, |out| {
            count(out, &rej_cat) >= 2 && count(out, "raw_ibkr_cpapi_ticks") >= 2
        });
        s.shutdown().unwrap();
        let mine = |c: &str| {
            let mut r: Vec<String> = got
                .iter()
                .filter(|x| x.category == c)
                .flat_map(|x| common::batch_rows(&x.data))
                .collect();
            r.sort();
            r
        };
        let want = |b: &RecordBatch| {
            let mut r = common::batch_rows(b);
            r.sort();
            r
        };
        assert_eq!(mine(&rej_cat), want(&rejects), "{format}: rejects");
        // Raw JSON columns are inferred: text, float and integer survive as such.
        assert_eq!(
            mine("raw_ibkr_cpapi_ticks"),
            want(&raw),
            "{format}: raw rows"
        );
        let raw_batch = got
            .iter()
            .find(|x| x.category == "raw_ibkr_cpapi_ticks")
            .unwrap();
        let types: Vec<String> = raw_batch
            .data
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().to_string())
            .collect();
        assert_eq!(types, ["Utf8", "Float64", "Int64"], "{format}");
    }
}
