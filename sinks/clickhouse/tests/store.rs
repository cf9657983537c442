//! The built `clickhouse` sink against a real clickhouse-server (18.16 from
//! Debian in CI): tick round trip with the DDL chosen for the version,
//! replays without duplicates, the latest-value view, schema evolution,
//! rejects, retention, a killed server, and errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use qdp_sdk::ErrorDomain;
use qdp_sdk::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use qdp_sdk::arrow::datatypes::{DataType, Field, Schema};
use qdp_sdk::schema::registry;
use qdp_sdk::{Batch, BatchMeta};
use qdp_test_services::ClickHouse;
use serde_json::json;
use std::sync::Arc;

const T: &str = "qdp.derivatives_tick_market_data";

/// Nanoseconds of a fixed instant: 2023-11-14 22:13:20 UTC plus `ns`.
fn at(ns: i64) -> i64 {
    1_700_000_000_000_000_000 + ns
}

/// `tick_time` as nanoseconds whatever the DDL flavour.
fn ts_ns(ch: &ClickHouse) -> &'static str {
    if old_server(ch) {
        "tick_time"
    } else {
        "toUnixTimestamp64Nano(tick_time)"
    }
}

#[test]
fn ticks_round_trip_with_the_ddl_of_the_server_version() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let rows = vec![
        tick("CLZ6", at(1), 71.25, Some(1_234.0)),
        tick("CLZ6", at(2), 0.1 + 0.2, None),
        tick("CLZ6", at(DAY_NS), -37.63, Some(0.0)),
        tick("NGF7é", at(5), 3.001, None),
    ];
    let before = now_ns();
    let mut s = sink(json!({ "url": ch.url() }));
    s.write(&[ticks(0, &rows[..2]), ticks(1, &rows[2..])])
        .unwrap();
    let after = now_ns();

    let ddl = ch
        .query("SHOW CREATE TABLE qdp.derivatives_tick_market_data")
        .unwrap();
    println!("server {}: {}", ch.version(), ddl.replace("\\n", "\n"));
    let types = rows_of(
        &ch,
        "SELECT name, type FROM system.columns WHERE database = 'qdp' AND table = 'derivatives_tick_market_data'",
    );
    let ts = if old_server(&ch) {
        "UInt64"
    } else {
        "DateTime64(9, \\'UTC\\')"
    };
    let mut want = vec![
        ("source_system_name", "String"),
        ("exchange_code", "String"),
        ("symbol_code", "String"),
        ("symbol_type", "String"),
        ("price", "Float64"),
        ("price_unit", "String"),
        ("size", "Float64"),
        ("size_unit", "String"),
        ("tick_time", ts),
        ("open_interest", "Nullable(Float64)"),
        ("open_interest_unit", "Nullable(String)"),
        ("component_instance_name", "String"),
        ("ingestion_time", ts),
        ("ingestion_time_realtime_store", ts),
    ];
    if old_server(&ch) {
        for (after, dt) in [
            ("tick_time", "tick_time_dt"),
            ("ingestion_time", "ingestion_time_dt"),
            (
                "ingestion_time_realtime_store",
                "ingestion_time_realtime_store_dt",
            ),
        ] {
            let i = want.iter().position(|(n, _)| *n == after).unwrap();
            want.insert(i + 1, (dt, "DateTime(\\'UTC\\')"));
        }
        assert!(
            ddl.contains("ENGINE = ReplacingMergeTree(ingestion_time_realtime_store)"),
            "{ddl}"
        );
        assert!(
            ddl.contains(
                "PARTITION BY toDate(toDateTime(intDiv(tick_time, 1000000000), \\'UTC\\'))"
            ),
            "{ddl}"
        );
    }
    let want: Vec<Vec<String>> = want
        .iter()
        .map(|(n, t)| vec![n.to_string(), t.to_string()])
        .collect();
    assert_eq!(types, want);
    assert!(
        ddl.contains("ORDER BY (source_system_name, symbol_code, tick_time)"),
        "{ddl}"
    );

    let back = rows_of(
        &ch,
        &format!(
            "SELECT symbol_code, {}, price, open_interest, open_interest_unit, exchange_code, size, size_unit \
             FROM {T} FINAL ORDER BY symbol_code, tick_time",
            ts_ns(&ch)
        ),
    );
    assert_eq!(back.len(), rows.len());
    for (r, t) in back.iter().zip(&rows) {
        assert_eq!(r[0], t.symbol);
        assert_eq!(r[1].parse::<i64>().unwrap(), t.time);
        assert_eq!(r[2].parse::<f64>().unwrap(), t.price, "{r:?}");
        match t.open_interest {
            Some(oi) => {
                assert_eq!(r[3].parse::<f64>().unwrap(), oi);
                assert_eq!(r[4], "1_contract");
            }
            None => assert_eq!((r[3].as_str(), r[4].as_str()), ("\\N", "\\N")),
        }
        assert_eq!(r[5..], ["NYMEX", "1", "1_contract"]);
    }
    // The stamp of the write, and the readable DateTime on old servers.
    let stamps = rows_of(
        &ch,
        &format!(
            "SELECT DISTINCT {} FROM {T}",
            if old_server(&ch) {
                "ingestion_time_realtime_store"
            } else {
                "toUnixTimestamp64Nano(ingestion_time_realtime_store)"
            }
        ),
    );
    let stamp: i64 = stamps[0][0].parse().unwrap();
    assert!(
        stamps.len() == 1 && (before..=after).contains(&stamp),
        "{stamps:?}"
    );
    if old_server(&ch) {
        assert_eq!(
            rows_of(
                &ch,
                &format!("SELECT toString(tick_time_dt) FROM {T} WHERE symbol_code = 'NGF7é'")
            ),
            [["2023-11-14 22:13:20"]]
        );
    }
}

#[test]
fn replays_show_no_duplicates_through_final_or_the_latest_view() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let batches = vec![
        ticks(
            0,
            &[
                tick("CLZ6", at(1), 70.0, None),
                tick("NGF7", at(1), 3.0, None),
            ],
        ),
        ticks(
            1,
            &[
                tick("CLZ6", at(2), 70.5, Some(10.0)),
                tick("HOF7", at(3), 2.5, None),
            ],
        ),
    ];
    let mut s = sink(json!({ "url": ch.url() }));
    s.write(&batches).unwrap();
    // A retried write on the same instance, then a restarted instance.
    s.write(&batches).unwrap();
    s.shutdown().unwrap();
    let mut again = sink(json!({ "url": ch.url() }));
    again.write(&batches).unwrap();

    assert_eq!(number(&ch, &format!("SELECT count() FROM {T} FINAL")), 4);
    assert_eq!(
        number(&ch, &format!("SELECT count() FROM {T}_latest")),
        3,
        "one row per symbol"
    );
    assert_eq!(
        rows_of(
            &ch,
            &format!("SELECT symbol_code, price FROM {T}_latest ORDER BY symbol_code")
        ),
        [["CLZ6", "70.5"], ["HOF7", "2.5"], ["NGF7", "3"]]
    );
}

#[test]
fn the_latest_view_holds_the_last_tick_per_symbol() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let mut s = sink(json!({ "url": ch.url() }));
    // Out of order across batches; the last CL tick has no open interest.
    s.write(&[
        ticks(
            0,
            &[
                tick("CLZ6", at(30), 73.0, None),
                tick("NGF7", at(40), 3.4, Some(5.0)),
            ],
        ),
        ticks(
            1,
            &[
                tick("CLZ6", at(10), 71.0, Some(1.0)),
                tick("CLZ6", at(20), 72.0, Some(2.0)),
            ],
        ),
    ])
    .unwrap();
    s.write(&[ticks(
        2,
        &[
            tick("NGF7", at(50), 3.5, Some(6.0)),
            tick("NGF7", at(45), 3.45, None),
        ],
    )])
    .unwrap();
    let latest = rows_of(
        &ch,
        &format!(
            "SELECT source_system_name, symbol_code, {}, price, open_interest, open_interest_unit \
             FROM {T}_latest ORDER BY symbol_code",
            ts_ns(&ch)
        ),
    );
    assert_eq!(
        latest,
        [
            vec![
                "market_sim".to_string(),
                "CLZ6".into(),
                at(30).to_string(),
                "73".into(),
                "\\N".into(),
                "\\N".into()
            ],
            vec![
                "market_sim".to_string(),
                "NGF7".into(),
                at(50).to_string(),
                "3.5".into(),
                "6".into(),
                "1_contract".into()
            ],
        ]
    );
}

#[test]
fn new_columns_are_added_and_rejects_are_kept_once() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let mut s = sink(json!({ "url": ch.url() }));
    s.write(&[ticks(0, &[tick("CLZ6", at(1), 70.0, None)])])
        .unwrap();
    // The same category with a passthrough `seq` column.
    let b = ticks(1, &[tick("CLZ6", at(2), 71.0, None)]);
    let mut fields = b.data.schema().fields().to_vec();
    fields.push(Arc::new(Field::new("seq", DataType::UInt64, false)));
    let mut cols = b.data.columns().to_vec();
    cols.push(Arc::new(UInt64Array::from(vec![7])) as ArrayRef);
    let data = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap();
    let with_seq = Batch { data, meta: b.meta };
    s.write(std::slice::from_ref(&with_seq)).unwrap();
    assert_eq!(
        rows_of(
            &ch,
            &format!("SELECT toString(seq) FROM {T} FINAL ORDER BY tick_time")
        ),
        [["\\N"], ["7"]]
    );
    assert_eq!(
        rows_of(&ch, &format!("SELECT toString(seq) FROM {T}_latest")),
        [["7"]],
        "the view follows the new column"
    );

    // Rejects: every value as text, keyed by batch identity.
    let schema = registry().get(TICKS).unwrap().unqualified_schema();
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "unqualified_reason" => Arc::new(StringArray::from(vec![
                "price: not a number",
                "price: not a number",
            ])) as ArrayRef,
            "price" => Arc::new(StringArray::from(vec![Some("abc"), Some("abc")])) as ArrayRef,
            _ => Arc::new(StringArray::from(vec![None::<&str>, None])) as ArrayRef,
        })
        .collect();
    let rejects = Batch {
        data: RecordBatch::try_new(schema, cols).unwrap(),
        meta: BatchMeta {
            category: "derivatives_tick_market_data_unqualified".into(),
            source_system: "market_sim".into(),
            origin: "sim".into(),
            seq: 4,
            producer: "validate".into(),
            ..Default::default()
        },
    };
    s.write(std::slice::from_ref(&rejects)).unwrap();
    s.write(std::slice::from_ref(&rejects)).unwrap();
    let table = "qdp.derivatives_tick_market_data_unqualified";
    assert_eq!(
        number(&ch, &format!("SELECT count() FROM {table} FINAL")),
        2,
        "two identical rejects are two rows, once each"
    );
    assert_eq!(
        rows_of(
            &ch,
            &format!(
                "SELECT price, symbol_code, _qdp_origin, _qdp_producer, _qdp_seq, _qdp_row FROM {table} FINAL ORDER BY _qdp_row"
            )
        ),
        [
            ["abc", "\\N", "sim", "validate", "4", "0"],
            ["abc", "\\N", "sim", "validate", "4", "1"]
        ]
    );
}

/// Partitions of the tick table, as days.
fn partitions(ch: &ClickHouse) -> Vec<String> {
    rows_of(
        ch,
        "SELECT DISTINCT partition FROM system.parts WHERE database = 'qdp' \
         AND table = 'derivatives_tick_market_data' AND active ORDER BY partition",
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect()
}

/// The UTC day `days_ago` days before `base` (ns).
fn day(base: i64, days_ago: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(base - days_ago * DAY_NS)
        .format("%Y-%m-%d")
        .to_string()
}

#[test]
fn retention_drops_only_day_partitions_older_than_n_days() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let n = 3;
    // Days are counted from one instant, so expectations and rows agree
    // even if the test runs across midnight UTC.
    let base = now_ns();
    let ago = |d: i64| base - d * DAY_NS;
    let day = |d: i64| day(base, d);
    let mut plain = sink(json!({ "url": ch.url() }));
    plain
        .write(&[ticks(
            0,
            &[
                tick("CLZ6", ago(0), 70.0, None),
                tick("CLZ6", ago(n - 1), 69.0, None),
                tick("CLZ6", ago(n + 1), 68.0, None),
                tick("CLZ6", ago(n + 5), 67.0, None),
            ],
        )])
        .unwrap();
    assert_eq!(partitions(&ch).len(), 4);

    // Retention runs at open...
    let mut kept = sink(json!({ "url": ch.url(), "retention_days": n, "retention_check": "1ms" }));
    assert_eq!(partitions(&ch), [day(n - 1), day(0)]);
    // ...and during writes once `retention_check` has passed.
    kept.write(&[ticks(1, &[tick("NGF7", ago(n + 2), 3.0, None)])])
        .unwrap();
    assert_eq!(partitions(&ch), [day(n + 2), day(n - 1), day(0)]);
    kept.write(&[ticks(2, &[tick("NGF7", ago(0), 3.1, None)])])
        .unwrap();
    assert_eq!(partitions(&ch), [day(n - 1), day(0)]);
    assert_eq!(number(&ch, &format!("SELECT count() FROM {T} FINAL")), 3);
}

/// Writes `batches` into an Iceberg history with the `iceberg` sink (as a
/// library: this test binary already links the ClickHouse plugin).
fn to_history(history: &serde_json::Value, batches: &[Batch]) {
    use qdp_sdk::Sink;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let o = serde_json::from_value(history.clone()).unwrap();
        let ctx = qdp_sdk::Context {
            pipeline: "history".into(),
            component_id: "history".into(),
            ..Default::default()
        };
        let mut s = qdp_iceberg::IcebergSink::new(o, &ctx).unwrap();
        s.open().await.unwrap();
        s.write(batches).await.unwrap();
    });
}

#[test]
fn retention_with_a_history_drops_only_days_the_iceberg_table_holds() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let n = 2;
    let base = now_ns();
    let ago = |d: i64| base - d * DAY_NS;
    let day = |d: i64| day(base, d);
    let held = [
        tick("CLZ6", ago(n + 2), 66.0, None),
        tick("NGF7", ago(n + 2), 3.0, None),
        tick("HOF7", ago(n + 2), 2.1, None),
    ];
    let complete = [
        tick("CLZ6", ago(n + 1), 67.0, None),
        tick("NGF7", ago(n + 1), 3.1, None),
    ];
    let mut plain = sink(json!({ "url": ch.url() }));
    let all: Vec<Tick> = held
        .iter()
        .chain(&complete)
        .cloned()
        .chain([tick("CLZ6", ago(0), 70.0, None)])
        .collect();
    plain.write(&[ticks(0, &all)]).unwrap();
    assert_eq!(partitions(&ch), [day(n + 2), day(n + 1), day(0)]);

    let dir = tempfile::tempdir().unwrap();
    let history = json!({
        "catalog_uri": format!("sqlite://{}/catalog.db?mode=rwc", dir.path().display()),
        "warehouse": format!("file://{}/warehouse", dir.path().display()),
    });
    // The history has all of one old day and two of the three rows of the other.
    to_history(&history, &[ticks(0, &complete), ticks(1, &held[..2])]);
    let options = json!({ "url": ch.url(), "retention_days": n, "history": history });
    drop(sink(options.clone()));
    assert_eq!(
        partitions(&ch),
        [day(n + 2), day(0)],
        "the complete day went, the short day stayed"
    );
    // Once the history holds the last row, the day goes.
    to_history(&history, &[ticks(2, &held[2..])]);
    drop(sink(options));
    assert_eq!(partitions(&ch), [day(0)]);
}

#[test]
fn a_killed_server_is_a_retryable_error_and_the_retry_lands_once() {
    let Some(mut ch) = ClickHouse::start() else {
        return;
    };
    let first = ticks(0, &[tick("CLZ6", at(1), 70.0, None)]);
    let second = ticks(
        1,
        &[
            tick("CLZ6", at(2), 71.0, None),
            tick("NGF7", at(2), 3.0, None),
        ],
    );
    let mut s = sink(json!({ "url": ch.url(), "insert_timeout": "5s" }));
    s.write(std::slice::from_ref(&first)).unwrap();

    ch.kill();
    let e = s.write(std::slice::from_ref(&second)).unwrap_err();
    println!("server down: {e}");
    assert!(e.retryable, "{e}");
    assert_eq!(e.domain, ErrorDomain::External, "{e}");
    assert!(
        e.to_string().contains(&ch.url()),
        "the error names the server: {e}"
    );

    ch.restart();
    s.write(std::slice::from_ref(&second)).unwrap();
    s.write(&[first, second]).unwrap();
    assert_eq!(number(&ch, &format!("SELECT count() FROM {T} FINAL")), 3);
}

#[test]
fn errors_carry_the_server_message_and_table_but_never_the_password() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    // Nothing listens there: retryable, names the URL, not the password.
    let url = format!("http://127.0.0.1:{}", qdp_test_services::free_port());
    let lib = qdp_sdk::conformance::built_library("qdp_sink_clickhouse").unwrap();
    let mut s = lib
        .instantiate(
            qdp_sdk::ffi::host::Kind::Sink,
            &json!({ "url": url, "user": "ops", "password": "hunter2-do-not-print" }),
            &qdp_sdk::Context::default(),
        )
        .unwrap();
    let e = s.start(None).unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(e.retryable && text.contains(&url), "{text}");
    assert!(!text.contains("hunter2"), "{text}");

    // A server-side refusal: the category's name is taken by a view.
    ch.query("CREATE DATABASE qdp").unwrap();
    ch.query("CREATE VIEW qdp.derivatives_tick_market_data AS SELECT 1 AS x")
        .unwrap();
    let mut s = sink(json!({ "url": ch.url() }));
    let e = s
        .write(&[ticks(0, &[tick("CLZ6", at(1), 70.0, None)])])
        .unwrap_err();
    let text = e.to_string();
    println!("server refusal: {text}");
    assert!(!e.retryable, "{text}");
    assert!(
        text.contains("DB::Exception") && text.contains("table=derivatives_tick_market_data"),
        "{text}"
    );

    // A column whose type cannot hold the batch's: refused before sending.
    ch.query("CREATE TABLE qdp.conformance_sample (symbol Float64, ingestion_time_realtime_store UInt64) ENGINE = MergeTree ORDER BY tuple()")
        .unwrap();
    let data = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(
            "symbol",
            DataType::Utf8,
            false,
        )])),
        vec![Arc::new(StringArray::from(vec!["CLZ6"])) as ArrayRef],
    )
    .unwrap();
    let b = Batch {
        data,
        meta: BatchMeta {
            category: "conformance_sample".into(),
            source_system: "t".into(),
            origin: "t".into(),
            seq: 0,
            producer: "t".into(),
            ..Default::default()
        },
    };
    let e = s.write(&[b]).unwrap_err();
    assert_eq!(e.domain, ErrorDomain::Config, "{e}");
    assert!(
        e.to_string().contains("`symbol`") && e.to_string().contains("Float64"),
        "{e}"
    );
}
