//! The built `iceberg` plugin against real catalogs (a SQLite file, the
//! Postgres on this machine) and real files, read back with the iceberg
//! crate and with pyiceberg, which shares no code with qdp.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use futures_util::TryStreamExt;
use iceberg::spec::{NestedField, PrimitiveType, Schema, Type};
use iceberg::{NamespaceIdent, TableCreation};
use serde_json::json;
use std::sync::Arc;

fn sqlite(dir: &std::path::Path) -> (String, String) {
    (
        format!("sqlite://{}/catalog.db?mode=rwc", dir.display()),
        format!("file://{}/warehouse", dir.display()),
    )
}

/// Two commits, a restart that replays both checkpoints, one more batch:
/// every row once, partitioned by day and feed, the same to both readers.
async fn history_round_trip(uri: &str, warehouse: &str) {
    let o = json!({ "catalog_uri": uri, "warehouse": warehouse, "namespace": "history" });
    let first = [ticks(0, 500, 0, "sim"), ticks(1, 500, 1, "sim")];
    let second = [ticks(2, 300, 1, "ibkr")];
    let mut s = sink(&o, "lane");
    s.write(&first).unwrap();
    s.write(&second).unwrap();
    s.shutdown().unwrap();

    let c = catalog(uri, warehouse).await;
    let t = load(c.as_ref(), "history", TICKS).await;
    assert_eq!(
        t.metadata().snapshots().count(),
        2,
        "one snapshot per write"
    );
    let spec: Vec<String> = t
        .metadata()
        .default_partition_spec()
        .fields()
        .iter()
        .map(|f| format!("{}:{}", f.name, f.transform))
        .collect();
    assert_eq!(spec, ["tick_time_day:day", "source_system_name:identity"]);
    let (rows, keys_before) = keys(&scan(&t).await);
    assert_eq!((rows, keys_before.len()), (1300, 1300));

    // A restarted process gets the same checkpoints again, then a new one.
    let mut s = sink(&o, "lane");
    s.write(&first).unwrap();
    s.write(&second).unwrap();
    // One batch across two days and two feeds: split by partition.
    let mut mixed = ticks(3, 200, 2, "sim");
    let other = ticks(3, 100, 3, "ibkr");
    mixed.data =
        qdp_sdk::arrow::compute::concat_batches(&mixed.data.schema(), [&mixed.data, &other.data])
            .unwrap();
    s.write(&[mixed]).unwrap();
    s.shutdown().unwrap();
    let t = load(c.as_ref(), "history", TICKS).await;
    assert_eq!(
        t.metadata().snapshots().count(),
        3,
        "replayed checkpoints commit nothing"
    );
    let batches = scan(&t).await;
    let (rows, keys_after) = keys(&batches);
    assert_eq!(
        (rows, keys_after.len()),
        (1600, 1600),
        "no row twice, none lost"
    );
    assert!(keys_after.is_superset(&keys_before));

    // The files sit in one folder per day and feed.
    let mut parts: Vec<String> = Vec::new();
    let tasks: Vec<iceberg::scan::FileScanTask> = t
        .scan()
        .build()
        .unwrap()
        .plan_files()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    for task in tasks {
        let path = task.data_file_path;
        let dir = path.rsplit('/').nth(1).unwrap();
        let day = path.rsplit('/').nth(2).unwrap();
        parts.push(format!("{day}/{dir}"));
    }
    parts.sort();
    parts.dedup();
    assert_eq!(
        parts,
        [
            "tick_time_day=2026-11-02/source_system_name=sim",
            "tick_time_day=2026-11-03/source_system_name=ibkr",
            "tick_time_day=2026-11-03/source_system_name=sim",
            "tick_time_day=2026-11-04/source_system_name=sim",
            "tick_time_day=2026-11-05/source_system_name=ibkr",
        ]
    );

    if let Some(py) = pyiceberg() {
        let v = read_with_pyiceberg(&py, uri, warehouse, "history", TICKS);
        assert_eq!(v["rows"], 1600, "{v}");
        assert_eq!(v["distinct_keys"], 1600, "{v}");
        assert_eq!(v["format_version"], 3, "{v}");
        assert_eq!(v["snapshots"], 3, "{v}");
        assert!(
            v["tick_time_type"]
                .as_str()
                .unwrap()
                .starts_with("timestamp[ns"),
            "nanoseconds survive: {v}"
        );
        let sum = v["price_sum"].as_f64().unwrap();
        assert!((sum - price_sum(&batches)).abs() < 1e-6, "{v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_land_once_in_a_sqlite_catalog_and_read_the_same_in_pyiceberg() {
    let dir = tempfile::tempdir().unwrap();
    let (uri, warehouse) = sqlite(dir.path());
    history_round_trip(&uri, &warehouse).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_land_once_in_a_postgres_catalog() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let warehouse = format!("file://{}/warehouse", dir.path().display());
    history_round_trip(&db.url(), &warehouse).await;
}

/// The warehouse in a bucket of a real S3 server (s3s-fs): files under the
/// prefix, a replay adds nothing, and the table reads back through the
/// same storage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warehouse_in_an_s3_bucket() {
    let Some(s3) = qdp_test_services::S3::start() else {
        return;
    };
    let root = s3.create_bucket("history");
    let dir = tempfile::tempdir().unwrap();
    let o = json!({
        "catalog_uri": format!("sqlite://{}/catalog.db?mode=rwc", dir.path().display()),
        "warehouse": "s3://history/wh",
        "s3": {
            "endpoint": s3.endpoint(),
            "region": s3.region(),
            "access_key_id": s3.access_key_id(),
            "secret_access_key": s3.secret_access_key(),
            "allow_http": true
        }
    });
    let batches = [ticks(0, 400, 0, "sim"), ticks(1, 100, 1, "ibkr")];
    let mut s = sink(&o, "lane");
    let mut s3 = s3;
    if let Err(e) = s.write(&batches) {
        panic!("{e}\ns3s-fs log:\n{}", s3.log_tail());
    }
    s.write(&batches).unwrap();
    s.shutdown().unwrap();

    let parquet: Vec<_> = walk(&root.join("wh"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    assert_eq!(parquet.len(), 2, "one file per partition: {parquet:?}");
    let opts: qdp_iceberg::IcebergOptions = serde_json::from_value(o).unwrap();
    let c = qdp_iceberg::inspect::open(&opts, None).await.unwrap();
    let t = qdp_iceberg::inspect::load(c.as_ref(), "history", TICKS)
        .await
        .unwrap()
        .unwrap();
    assert!(t.metadata().location().starts_with("s3://history/wh/"));
    assert_eq!(
        t.metadata().snapshots().count(),
        1,
        "the replay committed nothing"
    );
    let (rows, keys) = keys(&qdp_iceberg::inspect::rows(&t).await.unwrap());
    assert_eq!((rows, keys.len()), (500, 500));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A table made when the category had no open-interest fields gains them
/// as nullable columns; old rows read them as null, new rows keep theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_gains_the_nullable_fields_its_category_gained() {
    let dir = tempfile::tempdir().unwrap();
    let (uri, warehouse) = sqlite(dir.path());
    let c = catalog(&uri, &warehouse).await;
    let ns = NamespaceIdent::new("history".into());
    c.create_namespace(&ns, Default::default()).await.unwrap();
    let old = qdp_iceberg::shape::shape_of(TICKS).unwrap();
    let fields: Vec<_> = old
        .columns
        .iter()
        .filter(|c| !c.name.starts_with("open_interest"))
        .zip(1..)
        .map(|(c, id)| {
            Arc::new(NestedField::new(
                id,
                &c.name,
                Type::Primitive(c.ty.clone()),
                c.required,
            ))
        })
        .collect();
    let schema = Schema::builder().with_fields(fields).build().unwrap();
    c.create_table(
        &ns,
        TableCreation::builder()
            .name(TICKS.into())
            .schema(schema)
            .format_version(iceberg::spec::FormatVersion::V3)
            .build(),
    )
    .await
    .unwrap();

    let o = json!({ "catalog_uri": uri, "warehouse": warehouse });
    let mut s = sink(&o, "lane");
    s.write(&[ticks(0, 10, 0, "sim")]).unwrap();
    s.shutdown().unwrap();
    let t = load(c.as_ref(), "history", TICKS).await;
    let f = t
        .metadata()
        .current_schema()
        .field_by_name("open_interest")
        .unwrap();
    assert!(!f.required);
    assert_eq!(*f.field_type, Type::Primitive(PrimitiveType::Double));
    let rows = scan(&t).await;
    assert_eq!(keys(&rows).0, 10);
}

/// A raw category with no category schema (the Kafka source's undecodable
/// messages) gets a table shaped after its batches, instead of failing the
/// sink and stalling a processor on one bad message.
#[tokio::test]
async fn undecodable_kafka_messages_are_kept_as_history_too() {
    use qdp_sdk::arrow::array::{ArrayRef, Int32Array, Int64Array, StringArray};
    use qdp_sdk::arrow::datatypes::{DataType, Field, Schema as ArrowSchema};
    let dir = tempfile::tempdir().unwrap();
    let (uri, warehouse) = sqlite(dir.path());
    let o = json!({ "catalog_uri": uri, "warehouse": warehouse, "namespace": "history" });
    let schema = Arc::new(ArrowSchema::new(vec![
        Field::new("topic", DataType::Utf8, false),
        Field::new("partition", DataType::Int32, false),
        Field::new("offset", DataType::Int64, false),
        Field::new("payload", DataType::Utf8, true),
        Field::new("unqualified_reason", DataType::Utf8, false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["derivatives_tick_market_data"; 2])),
        Arc::new(Int32Array::from(vec![3, 3])),
        Arc::new(Int64Array::from(vec![41, 42])),
        Arc::new(StringArray::from(vec![Some("{not json"), None])),
        Arc::new(StringArray::from(vec!["not JSON", "empty payload"])),
    ];
    let raw = qdp_sdk::Batch {
        data: qdp_sdk::arrow::array::RecordBatch::try_new(schema, cols).unwrap(),
        meta: qdp_sdk::BatchMeta {
            category: "kafka_messages_unqualified".into(),
            source_system: "kafka".into(),
            origin: "topics".into(),
            producer: "topics".into(),
            ..Default::default()
        },
    };
    let mut s = sink(&o, "processor");
    s.write(&[raw, ticks(0, 10, 0, "sim")]).unwrap();
    s.shutdown().unwrap();

    let c = catalog(&uri, &warehouse).await;
    let t = load(c.as_ref(), "history", "kafka_messages_unqualified").await;
    let schema = t.metadata().current_schema();
    let offset = schema.field_by_name("offset").unwrap();
    assert_eq!(*offset.field_type, Type::Primitive(PrimitiveType::Long));
    assert!(!offset.required, "raw columns are optional");
    let rows = scan(&t).await;
    let n: usize = rows.iter().map(|b| b.num_rows()).sum();
    assert_eq!(n, 2);
    let ticks_table = load(c.as_ref(), "history", TICKS).await;
    assert_eq!(keys(&scan(&ticks_table).await).0, 10);
}

#[test]
fn the_iceberg_sink_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let (uri, warehouse) = sqlite(dir.path());
    let (u, w) = (uri.clone(), warehouse.clone());
    qdp_sdk::conformance::sink(
        qdp_sdk::conformance::built_library("qdp_sink_iceberg").unwrap(),
        json!({ "catalog_uri": uri, "warehouse": warehouse }),
    )
    .bad_options(json!({ "catalog_uri": "mysql://x", "warehouse": w }))
    .bad_options(json!({ "catalog_uri": u, "warehouse": "s3:///no-bucket" }))
    .bad_options(json!({ "catalog": "rest", "warehouse": w }))
    .bad_options(json!({ "catalog_uri": u, "warehouse": w, "compression_level": 0 }))
    .bad_options(json!({ "catalog_uri": u, "warehouse": w, "target_file_size_bytes": 1 }))
    .samples(vec![
        ticks(0, 50, 0, "sim"),
        ticks(1, 50, 0, "sim"),
        ticks(2, 50, 1, "sim"),
    ])
    .read_back(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let c = catalog(&u, &w).await;
            let ident =
                iceberg::TableIdent::new(NamespaceIdent::new("history".into()), TICKS.into());
            if !c.table_exists(&ident).await.map_err(|e| e.to_string())? {
                return Ok(0);
            }
            let t = load(c.as_ref(), "history", TICKS).await;
            Ok(keys(&scan(&t).await).0 as u64)
        })
    })
    .run()
    .assert_passed();
}
