//! A throwaway database per test on the real Postgres at 127.0.0.1:5432
//! (user postgres, trust), dropped when the test ends; and batch builders.

#![allow(dead_code)]

use qdp_sdk::arrow::array::{
    ArrayRef, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray,
};
use qdp_sdk::arrow::datatypes::{DataType, Field, Schema};
use qdp_sdk::{Batch, BatchMeta};
use qdp_sink_postgres::{ConnUrl, PostgresOptions, PostgresSink};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio_postgres::NoTls;

pub const ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that exists for one test.
pub struct TempDb {
    pub name: String,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TempDb {
    /// Creates `qdp_test_<pid>_<nanos>_<n>`, or `None` (printed) when no
    /// Postgres answers and `QDP_REQUIRE_SERVICES` is not set.
    pub async fn create() -> Option<TempDb> {
        let admin = match tokio_postgres::connect(ADMIN, NoTls).await {
            Ok((client, conn)) => {
                tokio::spawn(conn);
                client
            }
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
        let name = format!(
            "qdp_test_{}_{nanos}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin
            .batch_execute(&format!("create database {name}"))
            .await
            .unwrap();
        Some(TempDb { name })
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    pub fn options(&self) -> PostgresOptions {
        options(&self.url())
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url(), NoTls).await.unwrap();
        tokio::spawn(conn);
        client
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.client()
            .await
            .query_one(&format!("select count(*) from {table}"), &[])
            .await
            .unwrap()
            .get(0)
    }

    /// The first column of every row of `sql`, as text.
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        self.client()
            .await
            .query(sql, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    pub async fn sink(&self) -> PostgresSink {
        let mut s = PostgresSink::from_options(self.options()).unwrap();
        qdp_sdk::Sink::open(&mut s).await.unwrap();
        s
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime: use a thread with its own.
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok((client, conn)) = tokio_postgres::connect(ADMIN, NoTls).await {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("drop database if exists {name} with (force)"))
                        .await;
                }
            });
        })
        .join();
    }
}

pub fn options(url: &str) -> PostgresOptions {
    serde_json::from_value(serde_json::json!({ "url": url, "platform_worker_name": "test-worker" }))
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn meta(category: &str, origin: &str, seq: u64) -> BatchMeta {
    BatchMeta {
        category: category.into(),
        source_system: origin.into(),
        origin: origin.into(),
        seq,
        producer: origin.into(),
        ..Default::default()
    }
}

/// One numeric_economic_data row.
#[derive(Clone)]
pub struct Num {
    pub source: &'static str,
    pub field: &'static str,
    pub period: &'static str,
    pub release_ns: i64,
    pub value: Option<f64>,
    pub unit: &'static str,
}

pub const NS: i64 = 1_000_000_000;

/// 2026-04-29T14:30:00Z, the release of week ending 2026-04-24.
pub const REL_0424: i64 = 1_777_473_000 * NS;

pub fn num(
    source: &'static str,
    field: &'static str,
    period: &'static str,
    release_ns: i64,
    value: f64,
    unit: &'static str,
) -> Num {
    Num {
        source,
        field,
        period,
        release_ns,
        value: Some(value),
        unit,
    }
}

/// A numeric_economic_data batch; `value` may be None to make a bad row
/// (the batch schema then says nullable).
pub fn numeric(rows: &[Num], seq: u64) -> Batch {
    let reg = qdp_sdk::schema::registry()
        .get("numeric_economic_data")
        .unwrap();
    let mut schema = (*reg.arrow_schema()).clone();
    if rows.iter().any(|r| r.value.is_none()) {
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| (**f).clone().with_nullable(true))
            .collect();
        schema = Schema::new_with_metadata(fields, schema.metadata().clone());
    }
    let s = |f: &dyn Fn(&Num) -> String| -> ArrayRef {
        Arc::new(rows.iter().map(|r| Some(f(r))).collect::<StringArray>())
    };
    let ts = |f: &dyn Fn(&Num) -> i64| -> ArrayRef {
        Arc::new(
            TimestampNanosecondArray::from(rows.iter().map(f).collect::<Vec<_>>())
                .with_timezone("UTC"),
        )
    };
    let columns: Vec<ArrayRef> = vec![
        s(&|r| r.source.into()),
        s(&|_| "EIA".into()),
        s(&|_| "EIA-WPSR".into()),
        ts(&|r| r.release_ns),
        s(&|r| r.field.into()),
        Arc::new(rows.iter().map(|r| r.value).collect::<Float64Array>()),
        s(&|r| r.unit.into()),
        s(&|r| r.period.into()),
        s(&|_| "sources.eia".into()),
        ts(&|_| REL_0424 + 60 * NS),
    ];
    Batch {
        data: RecordBatch::try_new(Arc::new(schema), columns).unwrap(),
        meta: meta("numeric_economic_data", "eia", seq),
    }
}

/// A batch of text columns.
pub fn text_batch(
    category: &str,
    origin: &str,
    seq: u64,
    cols: &[(&str, Vec<Option<&str>>)],
) -> Batch {
    let fields: Vec<Field> = cols
        .iter()
        .map(|(n, _)| Field::new(*n, DataType::Utf8, true))
        .collect();
    let arrays: Vec<ArrayRef> = cols
        .iter()
        .map(|(_, v)| Arc::new(v.iter().copied().collect::<StringArray>()) as ArrayRef)
        .collect();
    Batch {
        data: RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap(),
        meta: meta(category, origin, seq),
    }
}

pub fn conn_url(s: &str) -> ConnUrl {
    ConnUrl(s.into())
}

/// An economic_data_releases batch of (source, release_time, content).
pub fn releases(rows: &[(&str, Option<i64>, &str)]) -> Batch {
    let schema = qdp_sdk::schema::registry()
        .get("economic_data_releases")
        .unwrap()
        .arrow_schema();
    let s = |v: Vec<String>| -> ArrayRef { Arc::new(StringArray::from(v)) };
    let n = rows.len();
    let ts = |v: Vec<Option<i64>>| -> ArrayRef {
        Arc::new(TimestampNanosecondArray::from(v).with_timezone("UTC"))
    };
    let data = RecordBatch::try_new(
        schema,
        vec![
            s(rows.iter().map(|r| r.0.to_string()).collect()),
            s(vec!["EIA".into(); n]),
            s(vec!["EIA-WPSR".into(); n]),
            s(vec!["weekly".into(); n]),
            ts(rows.iter().map(|r| r.1).collect()),
            s(rows.iter().map(|r| r.2.to_string()).collect()),
            s(vec!["sources.eia".into(); n]),
            ts(vec![Some(REL_0424); n]),
        ],
    )
    .unwrap();
    Batch {
        data,
        meta: meta("economic_data_releases", "eia", 0),
    }
}

/// A real WPSR table1 file: (name, bytes).
pub fn wpsr_file(name: &str) -> (String, Vec<u8>) {
    let path = qdp_test_services::real_data(&format!("eia/wpsr_table1_csv/{name}"));
    (
        name.to_string(),
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
}

/// A `raw_object` batch of `files`.
pub fn raw_batch(files: &[(String, Vec<u8>)], received_ns: i64, seq: u64) -> qdp_sdk::Batch {
    let objects: Vec<qdp_sdk::raw::RawObject> = files
        .iter()
        .map(|(n, b)| qdp_sdk::raw::RawObject {
            source_system: "eia_wpsr_csv".into(),
            object_name: n.clone(),
            extension: "csv".into(),
            received_time_ns: received_ns,
            content: b.clone(),
        })
        .collect();
    qdp_sdk::Batch {
        data: qdp_sdk::raw::to_batch(&objects).unwrap(),
        meta: meta("raw_object", "eia", seq),
    }
}
