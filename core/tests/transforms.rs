//! The built-in transforms on real Arrow batches: exact mapped values,
//! rejects with reasons, and a property test that no row is lost or doubled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use arrow::array::{
    Array, AsArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, TimestampNanosecondType, UInt64Type};
use proptest::prelude::*;
use qdp_core::transforms::map::{Map, MapOptions};
use qdp_core::transforms::validate::{Validate, ValidateOptions, is_unit};
use qdp_sdk::{Batch, BatchMeta, Context, Emit, Transform};
use std::sync::Arc;

fn raw(
    symbols: Vec<&str>,
    types: Vec<&str>,
    prices: Vec<&str>,
    sizes: Vec<i64>,
    ts: Vec<i64>,
) -> Batch {
    let n = symbols.len();
    let schema = Arc::new(Schema::new(vec![
        Field::new("seq", DataType::UInt64, false),
        Field::new("symbol", DataType::Utf8, false),
        Field::new("exchange", DataType::Utf8, false),
        Field::new("instrument_type", DataType::Utf8, false),
        Field::new("px", DataType::Utf8, true),
        Field::new("size", DataType::Int64, false),
        Field::new("ts_event_ns", DataType::Int64, false),
    ]));
    let data = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(UInt64Array::from_iter_values(0..n as u64)),
            Arc::new(StringArray::from(symbols)),
            Arc::new(StringArray::from(vec!["NYMEX"; n])),
            Arc::new(StringArray::from(types)),
            Arc::new(StringArray::from(prices)),
            Arc::new(Int64Array::from(sizes)),
            Arc::new(Int64Array::from(ts)),
        ],
    )
    .unwrap();
    Batch {
        data,
        meta: BatchMeta {
            category: "raw".into(),
            source_system: "feed_x".into(),
            origin: "src".into(),
            seq: 0,
            producer: "src".into(),
            ..Default::default()
        },
    }
}

fn map() -> Map {
    let o: MapOptions = serde_json::from_value(serde_json::json!({
        "category": "derivatives_tick_market_data",
        "passthrough": ["seq"],
        "fields": {
            "exchange_code": { "from": "exchange" },
            "symbol_code": { "from": "symbol" },
            "symbol_type": { "from": "instrument_type" },
            "price": { "from": "px" },
            "price_unit": { "value": "1_USD" },
            "size_unit": { "value": "1_contract" },
            "tick_time": { "from": "ts_event_ns", "epoch": "ns" }
        }
    }))
    .unwrap();
    Map::new(
        o,
        &Context {
            component_id: "ticks".into(),
            ..Default::default()
        },
    )
    .unwrap()
}

fn validate() -> Validate {
    Validate::new(ValidateOptions { category: None }, &Context::default()).unwrap()
}

fn port<'a>(emits: &'a [Emit], p: Option<&str>) -> Option<&'a RecordBatch> {
    emits
        .iter()
        .find(|e| e.port.as_deref() == p)
        .map(|e| &e.data)
}

fn then_validate(emits: &[Emit]) -> Vec<Emit> {
    let main = port(emits, None).unwrap().clone();
    let meta = BatchMeta {
        category: "derivatives_tick_market_data".into(),
        source_system: "feed_x".into(),
        origin: "src".into(),
        seq: 0,
        producer: "ticks".into(),
        ..Default::default()
    };
    validate().process(&Batch { data: main, meta }).unwrap()
}

#[test]
fn map_converts_values_and_rejects_the_unreadable_row_with_its_reason() {
    let b = raw(
        vec!["CLZ6", "NGZ6", "HOZ6"],
        vec!["future"; 3],
        vec!["70.25", "abc", "2.4512"],
        vec![3, 1, 2],
        vec![1_764_000_000_000_000_001, 2, 3],
    );
    let out = map().process(&b).unwrap();
    let main = port(&out, None).unwrap();
    assert_eq!(main.num_rows(), 2);
    let price = main
        .column_by_name("price")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    assert_eq!(price.values().to_vec(), vec![70.25, 2.4512]);
    let t = main
        .column_by_name("tick_time")
        .unwrap()
        .as_primitive::<TimestampNanosecondType>();
    assert_eq!(t.value(0), 1_764_000_000_000_000_001);
    assert_eq!(
        main.column_by_name("source_system_name")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        "feed_x"
    );
    assert_eq!(
        main.column_by_name("component_instance_name")
            .unwrap()
            .as_string::<i32>()
            .value(1),
        "ticks"
    );
    assert_eq!(
        main.column_by_name("seq")
            .unwrap()
            .as_primitive::<UInt64Type>()
            .values()
            .to_vec(),
        vec![0, 2]
    );
    let rej = port(&out, Some("unqualified")).unwrap();
    assert_eq!(rej.num_rows(), 1);
    assert_eq!(
        rej.column_by_name("symbol_code")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        "NGZ6"
    );
    assert_eq!(
        rej.column_by_name("seq")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        "1"
    );
    let reason = rej
        .column_by_name("unqualified_reason")
        .unwrap()
        .as_string::<i32>()
        .value(0);
    assert_eq!(reason, "price: cannot read \"abc\" as float64");
}

#[test]
fn validate_reports_every_failed_check_of_a_row() {
    let b = raw(
        vec!["CLZ6", "BZF7", ""],
        vec!["future", "swap", "future"],
        vec!["70.1", "74.0", "1.0"],
        vec![1, -5, 2],
        vec![1, 2, 3],
    );
    let out = then_validate(&map().process(&b).unwrap());
    let main = port(&out, None).unwrap();
    assert_eq!(main.num_rows(), 2, "an empty symbol is still a symbol");
    let rej = port(&out, Some("unqualified")).unwrap();
    assert_eq!(rej.num_rows(), 1);
    let reason = rej
        .column_by_name("unqualified_reason")
        .unwrap()
        .as_string::<i32>()
        .value(0);
    assert!(
        reason.contains("symbol_type: \"swap\" not in domain (future, option, other)"),
        "{reason}"
    );
    assert!(
        reason.contains("size: \"-5.0\" out of range (below min 0)"),
        "{reason}"
    );
}

#[test]
fn validate_rejects_a_batch_of_the_wrong_shape_without_panicking() {
    let b = raw(vec!["CLZ6"], vec!["future"], vec!["1"], vec![1], vec![1]);
    let meta = BatchMeta {
        category: "derivatives_tick_market_data".into(),
        ..b.meta.clone()
    };
    let out = validate().process(&Batch { data: b.data, meta }).unwrap();
    assert!(port(&out, None).is_none());
    let reason = port(&out, Some("unqualified"))
        .unwrap()
        .column_by_name("unqualified_reason")
        .unwrap()
        .as_string::<i32>()
        .value(0)
        .to_string();
    assert!(
        reason.contains("source_system_name: missing column"),
        "{reason}"
    );
    assert!(
        reason.contains("size: expected float64, got Int64"),
        "{reason}"
    );
}

#[test]
fn unit_syntax() {
    for ok in [
        "1_USD",
        "1000_barrels",
        "0.01_USD",
        "5_contracts",
        "42000_gallons",
    ] {
        assert!(is_unit(ok), "{ok}");
    }
    for bad in ["USD", "_USD", "1_", "1._USD", "1_9x", "a_USD", "1 USD"] {
        assert!(!is_unit(bad), "{bad}");
    }
}

proptest! {
    #[test]
    fn map_and_validate_never_lose_or_double_a_row(
        rows in proptest::collection::vec((
            prop_oneof![Just("CLZ6"), Just(""), Just("NGF7")],
            prop_oneof![Just("future"), Just("option"), Just("swap")],
            prop_oneof![Just("70.5"), Just("x"), Just("-3"), Just(".5")],
            -3i64..5,
        ), 1..60)
    ) {
        let n = rows.len();
        let b = raw(
            rows.iter().map(|r| r.0).collect(),
            rows.iter().map(|r| r.1).collect(),
            rows.iter().map(|r| r.2).collect(),
            rows.iter().map(|r| r.3).collect(),
            (0..n as i64).collect(),
        );
        let mapped = map().process(&b).unwrap();
        let mut seqs: Vec<u64> = Vec::new();
        if let Some(r) = port(&mapped, Some("unqualified")) {
            seqs.extend(r.column_by_name("seq").unwrap().as_string::<i32>().iter().map(|s| s.unwrap().parse::<u64>().unwrap()));
        }
        if port(&mapped, None).is_some() {
            let validated = then_validate(&mapped);
            if let Some(m) = port(&validated, None) {
                seqs.extend(m.column_by_name("seq").unwrap().as_primitive::<UInt64Type>().values().iter().copied());
            }
            if let Some(r) = port(&validated, Some("unqualified")) {
                let reasons = r.column_by_name("unqualified_reason").unwrap();
                prop_assert_eq!(reasons.null_count(), 0);
                seqs.extend(r.column_by_name("seq").unwrap().as_string::<i32>().iter().map(|s| s.unwrap().parse::<u64>().unwrap()));
            }
        }
        seqs.sort_unstable();
        prop_assert_eq!(seqs, (0..n as u64).collect::<Vec<_>>());
    }
}
