//! Statically linked components for the schedule tests: a release source
//! that reports an old period for its first passes and the new one after,
//! a sink that keeps what it committed, a webhook receiver on 127.0.0.1,
//! and a throwaway Postgres database.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate, Utc};
use qdp_core::Registry;
use qdp_core::schedule::TestClock;
use qdp_sdk::arrow::array::{
    ArrayRef, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray,
};
use qdp_sdk::arrow::datatypes::{DataType, SchemaRef};
use qdp_sdk::calendar::ReleaseCalendar;
use qdp_sdk::{
    Accepts, Batch, Checkpoint, Context, Describe, OutputDecl, PluginError, Result, Sink, Source,
    SourceBatch,
};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// What one test's source and sink saw, by tag.
#[derive(Default, Debug, Clone)]
pub struct Seen {
    /// Checkpoints each pass started from (`None` = none stored).
    pub starts: Vec<Option<String>>,
    /// Rows committed by the sink, per write.
    pub committed: Vec<usize>,
}

pub static SEEN: LazyLock<Mutex<HashMap<String, Seen>>> = LazyLock::new(Default::default);
/// The clock a source moves during a pass (to make a pass "take" time).
pub static CLOCKS: LazyLock<Mutex<HashMap<String, TestClock>>> = LazyLock::new(Default::default);

pub fn seen(tag: &str) -> Seen {
    SEEN.lock().unwrap().get(tag).cloned().unwrap_or_default()
}

fn with_seen(tag: &str, f: impl FnOnce(&mut Seen)) {
    f(SEEN.lock().unwrap().entry(tag.to_string()).or_default())
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseOptions {
    /// Test tag (keys SEEN and CLOCKS).
    pub tag: String,
    /// The period already out before the test.
    pub old_period: String,
    /// The period the test waits for.
    pub new_period: String,
    /// Passes that still see only the old period.
    pub old_passes: usize,
    /// Seconds the pass moves the test clock forward (a long pass).
    #[serde(default)]
    pub pass_secs: i64,
}

/// A WPSR-like source: every pass emits the rows of the newest period it
/// can see, stamped with the calendar's release time of that period.
pub struct ReleaseSource {
    o: ReleaseOptions,
    schema: SchemaRef,
    done: bool,
    component: String,
}

impl Describe for ReleaseSource {
    type Options = ReleaseOptions;
    const NAME: &'static str = "test_release";
    const VERSION: &'static str = "0.0.0";
    const CAPABILITIES: u64 = qdp_sdk::capabilities::RESUME | qdp_sdk::capabilities::FINITE;
}

fn period(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| PluginError::config(e.to_string()))
}

impl Source for ReleaseSource {
    fn new(o: ReleaseOptions, ctx: &Context) -> Result<Self> {
        let schema = qdp_sdk::schema::registry()
            .get("numeric_economic_data")
            .ok_or_else(|| PluginError::internal("no numeric_economic_data schema"))?
            .arrow_schema();
        Ok(Self {
            o,
            schema,
            done: false,
            component: ctx.component_id.clone(),
        })
    }

    fn outputs(&self) -> Vec<OutputDecl> {
        vec![OutputDecl {
            port: Some("numeric_economic_data".into()),
            category: "numeric_economic_data".into(),
            schema: Some(self.schema.clone()),
        }]
    }

    async fn start(&mut self, ck: Option<Checkpoint>) -> Result<()> {
        let ck = ck.map(|c| String::from_utf8_lossy(&c.0).into_owned());
        with_seen(&self.o.tag, |s| s.starts.push(ck));
        Ok(())
    }

    async fn next_batch(&mut self) -> Result<Option<SourceBatch>> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        let pass = seen(&self.o.tag).starts.len();
        if self.o.pass_secs > 0
            && let Some(c) = CLOCKS.lock().unwrap().get(&self.o.tag)
        {
            c.advance(chrono::Duration::seconds(self.o.pass_secs));
        }
        let p = if pass > self.o.old_passes {
            period(&self.o.new_period)?
        } else {
            period(&self.o.old_period)?
        };
        let at = ReleaseCalendar::EiaWpsr.release_time(p);
        let fields = ["WCESTUS1", "WGTSTUS1", "W_EPC0_FPF_SAK_MBBLD"];
        let n = fields.len();
        let text = |v: &str| Arc::new(StringArray::from(vec![v; n])) as ArrayRef;
        let ts = |t: DateTime<Utc>| {
            Arc::new(
                TimestampNanosecondArray::from(vec![t.timestamp_nanos_opt().unwrap_or(0); n])
                    .with_timezone("UTC"),
            ) as ArrayRef
        };
        let cols: Vec<ArrayRef> = self
            .schema
            .fields()
            .iter()
            .map(|f| match (f.name().as_str(), f.data_type()) {
                ("release_field", _) => Arc::new(StringArray::from(fields.to_vec())) as ArrayRef,
                ("release_time", _) => ts(at),
                ("reference_period", _) => text(&p.to_string()),
                ("component_instance_name", _) => text(&self.component),
                ("publisher_code", _) => text("EIA"),
                ("release_code", _) => text("EIA-WPSR"),
                ("release_field_value_unit", _) => text("1000_barrels"),
                (_, DataType::Float64) => Arc::new(Float64Array::from(vec![1.5; n])) as ArrayRef,
                (_, DataType::Timestamp(..)) => ts(Utc::now()),
                _ => text("test_wpsr"),
            })
            .collect();
        let data = RecordBatch::try_new(self.schema.clone(), cols)?;
        Ok(Some(SourceBatch {
            category: "numeric_economic_data".into(),
            source_system: "test_wpsr".into(),
            data,
            checkpoint: Checkpoint(p.to_string().into_bytes()),
            positions: Vec::new(),
        }))
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RowsOptions {
    /// Test tag.
    pub tag: String,
}

/// Keeps the row count of every write.
pub struct Rows {
    tag: String,
}

impl Describe for Rows {
    type Options = RowsOptions;
    const NAME: &'static str = "test_rows";
    const VERSION: &'static str = "0.0.0";
    const CAPABILITIES: u64 = qdp_sdk::capabilities::IDEMPOTENT_WRITE;
}

impl Sink for Rows {
    fn new(o: RowsOptions, _: &Context) -> Result<Self> {
        Ok(Self { tag: o.tag })
    }
    fn accepts(&self) -> Accepts {
        Accepts::Categories(vec!["numeric_economic_data".into()])
    }
    async fn write(&mut self, batches: &[Batch]) -> Result<()> {
        let rows = batches.iter().map(|b| b.data.num_rows()).sum();
        with_seen(&self.tag, |s| s.committed.push(rows));
        Ok(())
    }
}

pub fn registry() -> Registry {
    let mut r = Registry::with_builtins();
    r.register_source::<ReleaseSource>();
    r.register_sink::<Rows>();
    r
}

/// One POST the webhook received, with the test clock's time at receipt.
#[derive(Debug, Clone)]
pub struct Posted {
    pub at: DateTime<Utc>,
    pub body: serde_json::Value,
}

/// A webhook on 127.0.0.1 (ephemeral port) that forwards every POST.
pub async fn webhook(clock: TestClock) -> (String, tokio::sync::mpsc::UnboundedReceiver<Posted>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let (tx, clock) = (tx.clone(), clock.clone());
            async move {
                use qdp_core::schedule::Clock;
                let _ = tx.send(Posted {
                    at: clock.now(),
                    body,
                });
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), rx)
}

/// A throwaway database on the local Postgres (trust auth, user postgres),
/// dropped by [`TempDb::drop_now`]; `None` (skip) when no server answers,
/// a panic instead with `QDP_REQUIRE_SERVICES=1`.
pub struct TempDb {
    pub name: String,
    pub url: String,
}

const ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=postgres";

impl TempDb {
    pub async fn create() -> Option<Self> {
        let admin = match tokio_postgres::connect(ADMIN, tokio_postgres::NoTls).await {
            Ok((c, conn)) => {
                tokio::spawn(conn);
                c
            }
            Err(e) => {
                let msg = format!("Postgres at 127.0.0.1:5432 is not available: {e}");
                if std::env::var("QDP_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true") {
                    panic!("{msg} (QDP_REQUIRE_SERVICES=1)");
                }
                eprintln!("SKIPPED: {msg}");
                return None;
            }
        };
        let name = format!("qdp_sched_{:016x}", rand_u64());
        admin
            .batch_execute(&format!("create database {name}"))
            .await
            .unwrap();
        Some(Self {
            url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
            name,
        })
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        let (c, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        c
    }

    pub async fn drop_now(self) {
        let (admin, conn) = tokio_postgres::connect(ADMIN, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        admin
            .batch_execute(&format!(
                "drop database if exists {} with (force)",
                self.name
            ))
            .await
            .unwrap();
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}
