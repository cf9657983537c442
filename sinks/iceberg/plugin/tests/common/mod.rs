//! Shared by the iceberg sink tests: tick batches, the built plugin, a
//! reader on the iceberg crate, pyiceberg as an independent reader, and a
//! throwaway Postgres database for the SQL catalog.

#![allow(dead_code)]

use futures_util::TryStreamExt;
use iceberg::table::Table;
use iceberg::{Catalog, CatalogBuilder, NamespaceIdent, TableIdent};
use iceberg_catalog_sql::SqlCatalogBuilder;
use qdp_sdk::arrow::array::{
    ArrayRef, AsArray, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray,
};
use qdp_sdk::arrow::datatypes::TimestampNanosecondType;
use qdp_sdk::conformance::built_library;
use qdp_sdk::ffi::host::{ForeignInstance, Kind};
use qdp_sdk::schema::registry;
use qdp_sdk::{Batch, BatchMeta, Context};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const TICKS: &str = "derivatives_tick_market_data";
const SYMBOLS: [&str; 3] = ["CLF7", "NGF7", "HOF7"];
/// 2026-11-02 09:30 UTC; `day` spreads batches over consecutive days.
const T0: i64 = 1_793_611_800_000_000_000;
const DAY: i64 = 86_400_000_000_000;

/// `rows` ticks of batch `seq`, on day `day` after T0, from `system`.
pub fn ticks(seq: u64, rows: usize, day: i64, system: &str) -> Batch {
    let schema = registry().get(TICKS).unwrap().arrow_schema();
    let t: Vec<i64> = (0..rows as i64)
        .map(|i| T0 + day * DAY + seq as i64 * 1_000_000 + i)
        .collect();
    let text = |v: &str| Arc::new(StringArray::from(vec![v; rows])) as ArrayRef;
    let ts =
        |v: Vec<i64>| Arc::new(TimestampNanosecondArray::from(v).with_timezone("UTC")) as ArrayRef;
    let cols = schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "symbol_code" => Arc::new(StringArray::from(
                (0..rows)
                    .map(|i| SYMBOLS[i % SYMBOLS.len()])
                    .collect::<Vec<_>>(),
            )) as ArrayRef,
            "price" => Arc::new(Float64Array::from(
                (0..rows)
                    .map(|i| 70.0 + (seq as usize * rows + i) as f64 / 100.0)
                    .collect::<Vec<_>>(),
            )) as ArrayRef,
            "size" => Arc::new(Float64Array::from(vec![1.0; rows])) as ArrayRef,
            "open_interest" => Arc::new(Float64Array::from(vec![None; rows])) as ArrayRef,
            "open_interest_unit" => {
                Arc::new(StringArray::from(vec![None::<&str>; rows])) as ArrayRef
            }
            "tick_time" => ts(t.clone()),
            "ingestion_time" => ts(vec![T0; rows]),
            "symbol_type" => text("future"),
            "source_system_name" => text(system),
            "price_unit" => text("1_USD"),
            "size_unit" => text("1_contracts"),
            _ => text("x"),
        })
        .collect();
    Batch {
        data: RecordBatch::try_new(schema, cols).unwrap(),
        meta: BatchMeta {
            category: TICKS.into(),
            source_system: system.into(),
            origin: "sim".into(),
            seq,
            producer: "valid".into(),
            replayable: true,
            ..Default::default()
        },
    }
}

/// The built plugin, opened with `options`, as the runtime would load it.
pub fn sink(options: &Value, pipeline: &str) -> ForeignInstance {
    let lib = built_library("qdp_sink_iceberg").unwrap();
    let ctx = Context {
        pipeline: pipeline.into(),
        component_id: "history".into(),
        ..Context::default()
    };
    let mut s = lib.instantiate(Kind::Sink, options, &ctx).unwrap();
    s.start(None).unwrap();
    s
}

/// A catalog on `uri` and `warehouse`, as a reader would open it.
pub async fn catalog(uri: &str, warehouse: &str) -> Arc<dyn Catalog> {
    let style = if uri.starts_with("sqlite:") {
        "QMark"
    } else {
        "DollarNumeric"
    };
    Arc::new(
        SqlCatalogBuilder::default()
            .with_storage_factory(Arc::new(iceberg::io::LocalFsStorageFactory))
            .load(
                "qdp",
                HashMap::from([
                    ("uri".to_string(), uri.to_string()),
                    ("warehouse".to_string(), warehouse.to_string()),
                    ("sql_bind_style".to_string(), style.to_string()),
                ]),
            )
            .await
            .unwrap(),
    )
}

pub async fn load(c: &dyn Catalog, namespace: &str, table: &str) -> Table {
    c.load_table(&TableIdent::new(
        NamespaceIdent::new(namespace.into()),
        table.into(),
    ))
    .await
    .unwrap()
}

/// Every row of `t`'s current snapshot, read with the iceberg crate.
pub async fn scan(t: &Table) -> Vec<RecordBatch> {
    t.scan()
        .select_all()
        .build()
        .unwrap()
        .to_arrow()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

/// (symbol_code, tick_time ns) of every row, and the row count.
pub fn keys(batches: &[RecordBatch]) -> (usize, BTreeSet<(String, i64)>) {
    let mut rows = 0;
    let mut set = BTreeSet::new();
    for b in batches {
        rows += b.num_rows();
        let sym = b.column_by_name("symbol_code").unwrap().as_string::<i32>();
        let ts = b
            .column_by_name("tick_time")
            .unwrap()
            .as_primitive::<TimestampNanosecondType>();
        for i in 0..b.num_rows() {
            set.insert((sym.value(i).to_string(), ts.value(i)));
        }
    }
    (rows, set)
}

pub fn price_sum(batches: &[RecordBatch]) -> f64 {
    batches
        .iter()
        .map(|b| {
            let p = b
                .column_by_name("price")
                .unwrap()
                .as_primitive::<qdp_sdk::arrow::datatypes::Float64Type>();
            (0..p.len()).map(|i| p.value(i)).sum::<f64>()
        })
        .sum()
}

/// The Python of the venv `scripts/services.sh install` makes with
/// pyiceberg, or `None` (printed) on a laptop without it.
pub fn pyiceberg() -> Option<PathBuf> {
    let py = std::env::var_os("QDP_PYICEBERG")
        .map(PathBuf::from)
        .unwrap_or_else(|| qdp_test_services::tools_dir().join("pyiceberg/bin/python"));
    if py.exists() {
        return Some(py);
    }
    let msg = format!(
        "pyiceberg is not installed at {} (run `bash scripts/services.sh install`)",
        py.display()
    );
    if qdp_test_services::required() {
        panic!("{msg} (QDP_REQUIRE_SERVICES=1)");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// What pyiceberg reads from the table, as the JSON its script prints.
pub fn read_with_pyiceberg(py: &Path, uri: &str, warehouse: &str, ns: &str, table: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/read_with_pyiceberg.py");
    let out = std::process::Command::new(py)
        .arg(script)
        .args([uri, warehouse, ns, table])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyiceberg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A database that exists for one test on the Postgres at 127.0.0.1:5432.
pub struct TempDb {
    pub name: String,
}

const ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

impl TempDb {
    pub async fn create() -> Option<Self> {
        use sqlx::Connection;
        let mut admin = match sqlx::PgConnection::connect(ADMIN).await {
            Ok(c) => c,
            Err(e) => {
                let msg = format!("Postgres at 127.0.0.1:5432 is not available: {e}");
                if qdp_test_services::required() {
                    panic!("{msg} (QDP_REQUIRE_SERVICES=1)");
                }
                eprintln!("SKIPPED: {msg}");
                return None;
            }
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!("qdp_test_ice_{}_{nanos}", std::process::id());
        sqlx::query(&format!("create database {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        Some(Self { name })
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            use sqlx::Connection;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut c) = sqlx::PgConnection::connect(ADMIN).await {
                    let _ = sqlx::query(&format!("drop database if exists {name} with (force)"))
                        .execute(&mut c)
                        .await;
                }
            });
        })
        .join();
    }
}
