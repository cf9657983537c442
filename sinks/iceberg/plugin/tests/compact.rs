//! `qdp iceberg compact` on tables the built plugin wrote in many small
//! commits, against a real SQLite file and the Postgres on this machine:
//! fewer files, the very same rows (to the iceberg crate and to pyiceberg),
//! the sink's marks kept, and a concurrent commit never lost.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use iceberg::spec::Operation;
use iceberg::table::Table;
use qdp_iceberg::IcebergOptions;
use qdp_iceberg::compact::{self, COMPACTION_KEY, MOVED};
use qdp_iceberg::marks::{self, Marks};
use qdp_sdk::arrow::array::{AsArray, RecordBatch};
use qdp_sdk::arrow::datatypes::{Float64Type, TimestampNanosecondType};
use serde_json::json;
use std::collections::BTreeMap;

const SYSTEMS: [&str; 2] = ["sim", "ibkr"];

/// (source system, symbol, tick time, price bits) of every row, sorted: the
/// rows as a multiset.
fn rows(batches: &[RecordBatch]) -> Vec<(String, String, i64, u64)> {
    let mut out = Vec::new();
    for b in batches {
        let col = |n: &str| b.column_by_name(n).unwrap();
        let (sys, sym) = (
            col("source_system_name").as_string::<i32>(),
            col("symbol_code").as_string::<i32>(),
        );
        let ts = col("tick_time").as_primitive::<TimestampNanosecondType>();
        let price = col("price").as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            out.push((
                sys.value(i).to_string(),
                sym.value(i).to_string(),
                ts.value(i),
                price.value(i).to_bits(),
            ));
        }
    }
    out.sort();
    out
}

/// Data files per partition folder (`.../tick_time_day=.../source_system_name=...`).
async fn files_per_partition(t: &Table) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for path in qdp_iceberg::inspect::data_files(t).await.unwrap() {
        let dir = path.rsplit_once('/').unwrap().0.to_string();
        *m.entry(dir).or_default() += 1;
    }
    m
}

fn options(uri: &str, warehouse: &str) -> (serde_json::Value, IcebergOptions) {
    let o = json!({ "catalog_uri": uri, "warehouse": warehouse, "namespace": "history" });
    (o.clone(), serde_json::from_value(o).unwrap())
}

/// Twenty commits over two days and two feeds (four partitions of five
/// small files), compacted; then a second run, a replay and an append.
async fn compaction_round_trip(uri: &str, warehouse: &str) {
    let (o, opts) = options(uri, warehouse);
    let mut s = sink(&o, "lane");
    for seq in 0..20u64 {
        let system = SYSTEMS[(seq / 2 % 2) as usize];
        s.write(&[ticks(seq, 150, (seq % 2) as i64, system)])
            .unwrap();
    }
    let c = catalog(uri, warehouse).await;
    let t = load(c.as_ref(), "history", TICKS).await;
    let before = rows(&scan(&t).await);
    let key = marks::key("lane", "history");
    let marks_before = Marks::load(t.metadata(), &key).unwrap();
    let parts = files_per_partition(&t).await;
    assert_eq!((before.len(), parts.len()), (3000, 4));
    assert!(parts.values().all(|&n| n == 5), "{parts:?}");

    let reports = compact::compact(&opts, None, None).await.unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let r = &reports[0];
    assert_eq!(r.table, format!("history.{TICKS}"));
    assert_eq!(
        (r.partitions, r.files_before, r.files_after, r.rows),
        (4, 20, 4, 3000),
        "{r:?}"
    );
    assert_eq!(r.live_files, 4);

    let t = load(c.as_ref(), "history", TICKS).await;
    let parts = files_per_partition(&t).await;
    assert_eq!(parts.len(), 4, "{parts:?}");
    assert!(
        parts.values().all(|&n| n == 1),
        "one file per partition: {parts:?}"
    );
    assert_eq!(
        rows(&scan(&t).await),
        before,
        "the same rows, no more, no less"
    );
    let snap = t.metadata().current_snapshot().unwrap();
    let summary = snap.summary();
    assert_eq!(summary.operation, Operation::Replace);
    let prop = |k: &str| summary.additional_properties.get(k).cloned();
    assert_eq!(prop(COMPACTION_KEY).as_deref(), Some("true"));
    assert_eq!(prop("total-records").as_deref(), Some("3000"));
    assert_eq!(prop("total-data-files").as_deref(), Some("4"));
    assert_eq!(prop("deleted-data-files").as_deref(), Some("20"));
    assert_eq!(Marks::load(t.metadata(), &key).unwrap(), marks_before);
    assert!(prop(&key).is_some(), "the marks travel with the snapshot");
    assert_eq!(t.metadata().snapshots().count(), 21);

    if let Some(py) = pyiceberg() {
        let v = read_with_pyiceberg(&py, uri, warehouse, "history", TICKS);
        assert_eq!(v["rows"], 3000, "{v}");
        assert_eq!(v["distinct_keys"], 3000, "{v}");
        assert_eq!(v["snapshots"], 21, "{v}");
    }

    // Nothing is left to merge: the second run commits nothing.
    let again = compact::compact(&opts, None, Some(TICKS)).await.unwrap();
    assert_eq!(
        (again[0].partitions, again[0].live_files),
        (0, 4),
        "{again:?}"
    );
    let t2 = load(c.as_ref(), "history", TICKS).await;
    assert_eq!(t2.metadata_location(), t.metadata_location());

    // The sink open across compaction finds its marks: a replayed batch is
    // skipped, a new one lands (after at most one retry, since its loaded
    // table is stale).
    s.write(&[ticks(7, 150, 1, "ibkr")]).unwrap();
    let fresh = [ticks(20, 150, 0, "sim")];
    if s.write(&fresh).is_err() {
        s.write(&fresh).unwrap();
    }
    s.shutdown().unwrap();
    let mut s = sink(&o, "lane");
    s.write(&[ticks(3, 150, 1, "ibkr"), ticks(21, 150, 1, "sim")])
        .unwrap();
    s.shutdown().unwrap();
    let t = load(c.as_ref(), "history", TICKS).await;
    let after = rows(&scan(&t).await);
    assert_eq!(after.len(), 3300, "replays skipped, new batches kept");
    assert!(before.iter().all(|r| after.binary_search(r).is_ok()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_in_a_sqlite_catalog_keeps_every_row_in_fewer_files() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite://{}/catalog.db?mode=rwc", dir.path().display());
    let warehouse = format!("file://{}/warehouse", dir.path().display());
    compaction_round_trip(&uri, &warehouse).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_in_a_postgres_catalog_keeps_every_row_in_fewer_files() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let warehouse = format!("file://{}/warehouse", dir.path().display());
    compaction_round_trip(&db.url(), &warehouse).await;
}

/// A sink commits between planning and the swap: the swap refuses, the
/// table holds exactly what the sink committed, no file is deleted, and
/// the next run compacts.
async fn a_concurrent_commit_wins(uri: &str, warehouse: &str) {
    let (o, opts) = options(uri, warehouse);
    let mut s = sink(&o, "lane");
    for seq in 0..6u64 {
        s.write(&[ticks(seq, 100, (seq % 2) as i64, "sim")])
            .unwrap();
    }
    let c = catalog(uri, warehouse).await;
    let t = load(c.as_ref(), "history", TICKS).await;
    let staged = compact::stage(&t, &opts).await.unwrap();
    assert_eq!(staged.report().files_before, 6, "{:?}", staged.report());

    s.write(&[ticks(6, 100, 0, "sim")]).unwrap();
    s.shutdown().unwrap();
    let places = opts.places(None).unwrap();
    let err = staged.swap(&opts, &places).await.unwrap_err();
    assert_eq!(err.message, MOVED, "{err}");

    let t = load(c.as_ref(), "history", TICKS).await;
    let snap = t.metadata().current_snapshot().unwrap();
    assert_eq!(snap.summary().operation, Operation::Append);
    assert_eq!(t.metadata().snapshots().count(), 7);
    let files = qdp_iceberg::inspect::data_files(&t).await.unwrap();
    assert_eq!(files.len(), 7);
    for f in &files {
        let path = f.strip_prefix("file://").unwrap();
        assert!(std::path::Path::new(path).exists(), "{f} kept");
    }
    assert_eq!(rows(&scan(&t).await).len(), 700);

    // Run again: now it wins.
    let r = compact::compact(&opts, None, None).await.unwrap();
    assert_eq!((r[0].files_before, r[0].files_after), (7, 2), "{r:?}");
    let t = load(c.as_ref(), "history", TICKS).await;
    assert_eq!(rows(&scan(&t).await).len(), 700);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_during_compaction_in_sqlite_wins_and_nothing_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite://{}/catalog.db?mode=rwc", dir.path().display());
    let warehouse = format!("file://{}/warehouse", dir.path().display());
    a_concurrent_commit_wins(&uri, &warehouse).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_during_compaction_in_postgres_wins_and_nothing_is_replaced() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let warehouse = format!("file://{}/warehouse", dir.path().display());
    a_concurrent_commit_wins(&db.url(), &warehouse).await;
}

/// v3 row lineage: a file left alone keeps the row ids it had (written out
/// in its EXISTING entry), the new files take ids after the table's last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_left_alone_keep_their_row_ids() {
    use iceberg::spec::ManifestStatus::{Added, Deleted, Existing};
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite://{}/catalog.db?mode=rwc", dir.path().display());
    let warehouse = format!("file://{}/warehouse", dir.path().display());
    let (o, opts) = options(&uri, &warehouse);
    let mut s = sink(&o, "lane");
    for seq in 0..4u64 {
        s.write(&[ticks(seq, 100, 0, "sim")]).unwrap();
    }
    // The fifth commit, rows 400..500, alone in its partition.
    s.write(&[ticks(4, 100, 3, "ibkr")]).unwrap();
    s.shutdown().unwrap();
    let r = compact::compact(&opts, None, None).await.unwrap();
    assert_eq!((r[0].files_before, r[0].files_after), (4, 1), "{r:?}");

    let c = catalog(&uri, &warehouse).await;
    let t = load(c.as_ref(), "history", TICKS).await;
    let snap = t.metadata().current_snapshot().unwrap();
    assert_eq!(snap.row_range(), Some((500, 500)), "existing + added rows");
    let list = t.manifest_list_reader(snap).load().await.unwrap();
    let mut seen = Vec::new();
    for m in list.entries() {
        assert_eq!(m.first_row_id, Some(500));
        for e in m.load_manifest(t.file_io()).await.unwrap().entries() {
            seen.push((e.status(), e.data_file.first_row_id()));
        }
    }
    seen.sort_by_key(|(s, _)| *s as i32);
    assert_eq!(
        seen,
        [
            (Existing, Some(400)),
            (Added, None),
            (Deleted, None),
            (Deleted, None),
            (Deleted, None),
            (Deleted, None)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rest_catalog_is_refused_with_the_reason() {
    let opts: IcebergOptions = serde_json::from_value(json!({
        "catalog": "rest", "catalog_uri": "http://127.0.0.1:9", "warehouse": "file:///tmp/w"
    }))
    .unwrap();
    let err = compact::compact(&opts, None, None).await.unwrap_err();
    assert!(err.message.contains("needs a SQL catalog"), "{err}");
}
