//! Helpers shared by the integration tests: the built plugin, tick batches
//! in the category schema, and queries against the test server.

#![allow(dead_code)]

use qdp_sdk::arrow::array::{
    ArrayRef, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray,
};
use qdp_sdk::arrow::datatypes::DataType;
use qdp_sdk::conformance;
use qdp_sdk::ffi::host::{ForeignInstance, Kind};
use qdp_sdk::schema::registry;
use qdp_sdk::{Batch, BatchMeta, Context};
use qdp_test_services::ClickHouse;
use serde_json::Value;
use std::sync::Arc;

pub const TICKS: &str = "derivatives_tick_market_data";
pub const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// One tick: symbol, time (ns since the epoch), price, open interest.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub symbol: &'static str,
    pub time: i64,
    pub price: f64,
    pub open_interest: Option<f64>,
}

pub fn tick(symbol: &'static str, time: i64, price: f64, open_interest: Option<f64>) -> Tick {
    Tick {
        symbol,
        time,
        price,
        open_interest,
    }
}

/// A batch of `derivatives_tick_market_data` built on the registry's Arrow schema.
pub fn ticks(seq: u64, rows: &[Tick]) -> Batch {
    let schema = registry().get(TICKS).expect("tick schema").arrow_schema();
    let n = rows.len();
    let text = |v: &dyn Fn(&Tick) -> String| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(v).collect::<Vec<_>>()))
    };
    let time = |v: Vec<i64>| -> ArrayRef {
        Arc::new(TimestampNanosecondArray::from(v).with_timezone("UTC"))
    };
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "source_system_name" => text(&|_| "market_sim".into()),
            "exchange_code" => text(&|_| "NYMEX".into()),
            "symbol_code" => text(&|t| t.symbol.into()),
            "symbol_type" => text(&|_| "future".into()),
            "price" => Arc::new(Float64Array::from(
                rows.iter().map(|t| t.price).collect::<Vec<_>>(),
            )) as ArrayRef,
            "price_unit" => text(&|_| "1_USD".into()),
            "size" => Arc::new(Float64Array::from(vec![1.0; n])) as ArrayRef,
            "size_unit" => text(&|_| "1_contract".into()),
            "tick_time" => time(rows.iter().map(|t| t.time).collect()),
            "open_interest" => Arc::new(Float64Array::from(
                rows.iter().map(|t| t.open_interest).collect::<Vec<_>>(),
            )) as ArrayRef,
            "open_interest_unit" => Arc::new(StringArray::from(
                rows.iter()
                    .map(|t| t.open_interest.map(|_| "1_contract"))
                    .collect::<Vec<_>>(),
            )) as ArrayRef,
            "component_instance_name" => text(&|_| "sim".into()),
            "ingestion_time" => time(rows.iter().map(|t| t.time + 1_000).collect()),
            other => panic!(
                "unexpected field {other}: {:?}",
                f.data_type() == &DataType::Utf8
            ),
        })
        .collect();
    Batch {
        data: RecordBatch::try_new(schema, columns).expect("tick batch"),
        meta: BatchMeta {
            category: TICKS.into(),
            source_system: "market_sim".into(),
            origin: "sim".into(),
            seq,
            producer: "map".into(),
            ..Default::default()
        },
    }
}

/// Nanoseconds now.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// An opened instance of the built plugin.
pub fn sink(options: Value) -> ForeignInstance {
    let lib = conformance::built_library("qdp_sink_clickhouse").unwrap();
    let mut s = lib
        .instantiate(Kind::Sink, &options, &Context::default())
        .unwrap();
    s.start(None).unwrap();
    s
}

/// One number from a query.
pub fn number(ch: &ClickHouse, sql: &str) -> u64 {
    let out = ch.query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    out.trim()
        .parse()
        .unwrap_or_else(|e| panic!("{sql}: `{out}`: {e}"))
}

/// TabSeparated rows of a query.
pub fn rows_of(ch: &ClickHouse, sql: &str) -> Vec<Vec<String>> {
    ch.query(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .lines()
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

/// Whether the server lacks DateTime64 as a version column (before 21.6),
/// so timestamps are UInt64 nanoseconds.
pub fn old_server(ch: &ClickHouse) -> bool {
    let v = ch.version();
    let mut p = v.split('.').map(|x| x.parse::<u32>().unwrap_or(0));
    (p.next().unwrap_or(0), p.next().unwrap_or(0)) < (21, 6)
}
