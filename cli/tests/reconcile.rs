//! `qdp reconcile` as a process against a real broker, fed by the real
//! `kafka` sink plugin with batches shaped like the realtime connector's:
//! raw rows, the category rows `validate` made of them and the rejects of
//! `map` and `validate`, all tied by one batch number. A balanced source
//! exits 0 (a replayed write does not count twice); category rows that never
//! arrive exit 1 and name the source, the interval and the missing rows;
//! usage and connection errors exit 2 with one line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::array::{TimestampNanosecondArray, new_null_array};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use common::plugin_dir;
use qdp_sdk::conformance::built_library;
use qdp_sdk::ffi::host::{ForeignInstance, Kind};
use qdp_sdk::{Batch, BatchMeta, Context};
use qdp_test_services::Kafka;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PIPELINE: &str = "realtime-connector";
const TOPICS: &str =
    "raw_ibkr_cpapi_ticks,derivatives_tick_market_data,derivatives_tick_market_data_unqualified";

/// An instance of the real `kafka` sink, opened, as pipeline `pipeline` runs it.
fn sink(kafka: &Kafka, pipeline: &str, id: &str, format: &str) -> ForeignInstance {
    let lib = built_library("qdp_sink_kafka").unwrap();
    let ctx = Context {
        pipeline: pipeline.into(),
        component_id: id.into(),
        data_dir: None,
    };
    let options = json!({ "brokers": kafka.bootstrap(), "format": format, "partitions": 3 });
    let mut s = lib.instantiate(Kind::Sink, &options, &ctx).unwrap();
    s.start(None).unwrap();
    s
}

fn meta(category: &str, producer: &str, seq: u64) -> BatchMeta {
    BatchMeta {
        category: category.into(),
        source_system: "ibkr_cpapi".into(),
        origin: "ibkr".into(),
        seq,
        producer: producer.into(),
        ..Default::default()
    }
}

/// Raw ticks as the IBKR preset emits them.
fn raw(seq: u64, rows: usize) -> Batch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("conid", DataType::Int64, false),
        Field::new("last", DataType::Utf8, true),
    ]));
    let data = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![495_512_572; rows])),
            Arc::new(StringArray::from(vec!["C4200.25"; rows])),
        ],
    )
    .unwrap();
    Batch {
        data,
        meta: meta("raw_ibkr_cpapi_ticks", "ibkr", seq),
    }
}

/// Category rows of `derivatives_tick_market_data`, from `validate`.
fn ticks(seq: u64, rows: usize) -> Batch {
    let cat = qdp_sdk::schema::registry()
        .get("derivatives_tick_market_data")
        .unwrap();
    let schema = cat.arrow_schema();
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| -> ArrayRef {
            match f.data_type() {
                DataType::Utf8 => Arc::new(StringArray::from(vec!["ESH3"; rows])),
                DataType::Float64 => Arc::new(Float64Array::from(vec![4200.25; rows])),
                DataType::Int64 => Arc::new(Int64Array::from(vec![1; rows])),
                DataType::Timestamp(TimeUnit::Nanosecond, tz) => Arc::new(
                    TimestampNanosecondArray::from_iter_values(
                        (0..rows as i64).map(|i| 1_767_000_000_000_000_000 + i),
                    )
                    .with_timezone_opt(tz.clone()),
                ),
                other => new_null_array(other, rows),
            }
        })
        .collect();
    Batch {
        data: RecordBatch::try_new(schema, cols).unwrap(),
        meta: meta("derivatives_tick_market_data", "valid_ticks", seq),
    }
}

/// Rejects of one stage (`ticks` is the map, `valid_ticks` the validate).
fn rejects(producer: &str, seq: u64, rows: usize) -> Batch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("symbol_code", DataType::Utf8, true),
        Field::new("price", DataType::Utf8, true),
        Field::new("unqualified_reason", DataType::Utf8, false),
    ]));
    let data = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec!["ESH3"; rows])),
            Arc::new(StringArray::from(vec!["n/a"; rows])),
            Arc::new(StringArray::from(vec!["price: not a number"; rows])),
        ],
    )
    .unwrap();
    Batch {
        data,
        meta: meta("derivatives_tick_market_data_unqualified", producer, seq),
    }
}

fn reconcile(args: &[&str]) -> Output {
    reconcile_with(args, &[])
}

fn reconcile_with(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qdp"))
        .arg("reconcile")
        .args(args)
        .env("QDP_PLUGIN_PATH", plugin_dir())
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `qdp reconcile --json` with 1s intervals until no interval is
/// pending (the last one ends a second after the writes at most).
fn settled(args: &[&str]) -> (Option<i32>, Value) {
    settled_with(args, &[])
}

fn settled_with(args: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, Value) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut all = vec!["--interval", "1s", "--settle", "0s", "--json"];
        all.extend_from_slice(args);
        let o = reconcile_with(&all, envs);
        let v: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&o)));
        let pending = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == "pending");
        if !pending {
            return (o.status.code(), v);
        }
        assert!(Instant::now() < deadline, "still pending: {v}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Totals over the rows of `v`: (raw, category, unqualified, missing).
fn totals(v: &Value) -> (u64, u64, u64, i64) {
    let rows = v["rows"].as_array().unwrap();
    let sum = |k: &str| rows.iter().map(|r| r[k].as_i64().unwrap()).sum::<i64>();
    (
        sum("raw") as u64,
        sum("category") as u64,
        sum("unqualified") as u64,
        sum("missing"),
    )
}

#[test]
fn balanced_sources_pass_and_lost_category_rows_raise_the_alarm() {
    let Some(kafka) = Kafka::start() else { return };
    let b = kafka.bootstrap();
    let mut raw_sink = sink(&kafka, PIPELINE, "raw", "json");
    let mut categories = sink(&kafka, PIPELINE, "categories", "arrow");
    raw_sink.write(&[raw(1, 10)]).unwrap();
    categories.write(&[ticks(1, 8)]).unwrap();
    raw_sink
        .write(&[rejects("ticks", 1, 1), rejects("valid_ticks", 1, 1)])
        .unwrap();
    // After a restart, a new sink instance writes the same batches again.
    let mut replay = sink(&kafka, PIPELINE, "raw", "json");
    replay.write(&[raw(1, 10), rejects("ticks", 1, 1)]).unwrap();

    let (code, v) = settled(&["--brokers", &b, "--topics", TOPICS]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(totals(&v), (10, 8, 2, 0), "{v}");
    assert_eq!(v["duplicates"], 11, "{v}");
    let row = &v["rows"][0];
    assert_eq!(
        (&row["source"], &row["origin"], &row["status"]),
        (&json!("ibkr_cpapi"), &json!("ibkr"), &json!("ok"))
    );
    // From a time on: the broker finds the first offset at it.
    let (code, v) = settled(&["--brokers", &b, "--topics", TOPICS, "--since", "1h"]);
    assert_eq!((code, totals(&v)), (Some(0), (10, 8, 2, 0)), "{v}");
    let o = reconcile(&[
        "--brokers",
        &b,
        "--topics",
        TOPICS,
        "--interval",
        "1s",
        "--settle",
        "0s",
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("ok: every settled interval balances"), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("realtime-connector/ibkr"))
        .unwrap();
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cols[2..], ["1", "10", "8", "2", "0", "ok"], "{out}");

    // Batch 2: the raw rows and the rejects arrive, its category rows never do.
    raw_sink
        .write(&[
            raw(2, 10),
            rejects("ticks", 2, 1),
            rejects("valid_ticks", 2, 1),
        ])
        .unwrap();
    let (code, v) = settled(&["--brokers", &b, "--topics", TOPICS]);
    assert_eq!(code, Some(1), "{v}");
    let bad: Vec<&Value> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "imbalance")
        .collect();
    assert_eq!(bad.len(), 1, "{v}");
    assert_eq!(bad[0]["missing"], 8, "{v}");
    assert_eq!(
        bad[0]["batches_off"],
        json!([{ "seq": 2, "missing": 8 }]),
        "{v}"
    );
    let o = reconcile(&[
        "--brokers",
        &b,
        "--topics",
        TOPICS,
        "--interval",
        "1s",
        "--settle",
        "0s",
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let alarm = format!(
        "IMBALANCE: 8 rows missing from ibkr_cpapi (realtime-connector/ibkr) in the interval {} to {}",
        bad[0]["start"].as_str().unwrap(),
        bad[0]["end"].as_str().unwrap()
    );
    assert!(out.contains(&alarm), "no `{alarm}` in {out}");
    assert!(out.contains("seq 2: 8"), "{out}");
    println!("{out}");

    // The topics from the connector's own pipeline file, and only its
    // messages: another pipeline's unmatched raw rows are not counted.
    let mut other = sink(&kafka, "someone-else", "raw", "json");
    other.write(&[raw(1, 10)]).unwrap();
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/pipelines/realtime-connector.toml");
    let file = file.to_str().unwrap();
    let envs = [
        ("IBKR_WS_URL", "ws://127.0.0.1:9/v1/api/ws"),
        ("KAFKA_BROKERS", b.as_str()),
    ];
    let (code, v) = settled_with(&["--pipeline", file], &envs);
    assert_eq!(code, Some(1), "{v}");
    let read = &v["reads"][0];
    assert_eq!(read["brokers"], json!(b), "{v}");
    for t in TOPICS.split(',') {
        assert!(
            read["topics"].as_array().unwrap().contains(&json!(t)),
            "{v}"
        );
    }
    assert!(
        read["missing_topics"]
            .as_array()
            .unwrap()
            .contains(&json!("derivatives_l2_market_data")),
        "{v}"
    );
    assert_eq!(v["other_pipelines"], 10, "{v}");
    assert_eq!(totals(&v), (20, 8, 4, 8), "{v}");
    for s in [raw_sink, categories, replay, other].iter_mut() {
        s.shutdown().unwrap();
    }
}

#[test]
fn usage_and_connection_errors_exit_2_with_one_line() {
    let o = reconcile(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("--brokers and --topics, or --pipeline"),
        "{err}"
    );

    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let brokers = format!("127.0.0.1:{port}");
    let o = reconcile(&["--brokers", &brokers, "--topics", "t", "--timeout", "2s"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("cannot reach the Kafka brokers at {brokers}")),
        "{err}"
    );
}
