//! Native test components: a deterministic counting source and an in-memory
//! sink whose failures are scripted, registered in-process.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use qdp_core::Registry;
use qdp_sdk::arrow::array::{Array, RecordBatch, UInt64Array};
use qdp_sdk::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use qdp_sdk::{
    Accepts, Batch, Checkpoint, Context, Describe, OutputDecl, PluginError, Result, Sink, Source,
    SourceBatch,
};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

/// What a named memory sink holds and how it should misbehave.
#[derive(Default)]
pub struct Store {
    /// Committed values, in commit order.
    pub rows: Vec<u64>,
    /// Committed (origin, seq) pairs, for idempotency.
    pub seen: BTreeSet<(String, u64)>,
    /// Fail this many writes with a retryable error first.
    pub fail_retryable: u32,
    /// Panic in this many writes first.
    pub panics: u32,
    /// Fail every write with a non-retryable error.
    pub always_fail: bool,
    /// Largest (emitted - committed) seen at a write.
    pub max_in_flight: u64,
    /// Writes attempted.
    pub attempts: u64,
    /// Writes in progress now, and the most ever at once.
    pub active: u32,
    pub max_active: u32,
}

pub static STORES: LazyLock<Mutex<HashMap<String, Store>>> = LazyLock::new(Default::default);
pub static EMITTED: LazyLock<Mutex<HashMap<String, Arc<AtomicU64>>>> =
    LazyLock::new(Default::default);

pub fn with_store<R>(name: &str, f: impl FnOnce(&mut Store) -> R) -> R {
    let mut map = STORES.lock().unwrap_or_else(|p| p.into_inner());
    f(map.entry(name.to_string()).or_default())
}

fn emitted(name: &str) -> Arc<AtomicU64> {
    EMITTED
        .lock()
        .unwrap()
        .entry(name.to_string())
        .or_default()
        .clone()
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CountOptions {
    /// Rows in total.
    pub count: u64,
    /// Rows per batch.
    pub batch_rows: u64,
    /// Counter name shared with the sink for in-flight measurements.
    #[serde(default)]
    pub tag: String,
}

pub struct Count {
    o: CountOptions,
    next: u64,
    schema: SchemaRef,
    emitted: Arc<AtomicU64>,
}

impl Describe for Count {
    type Options = CountOptions;
    const NAME: &'static str = "test_count";
    const VERSION: &'static str = "0.0.0";
    const CAPABILITIES: u64 =
        qdp_sdk::capabilities::RESUME | qdp_sdk::capabilities::DETERMINISTIC_REPLAY;
}

impl Source for Count {
    fn new(o: CountOptions, _: &Context) -> Result<Self> {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::UInt64, false)]));
        let emitted = emitted(&o.tag);
        Ok(Self {
            o,
            next: 0,
            schema,
            emitted,
        })
    }
    fn outputs(&self) -> Vec<OutputDecl> {
        vec![OutputDecl::main("test_counts", self.schema.clone())]
    }
    async fn start(&mut self, ck: Option<Checkpoint>) -> Result<()> {
        self.next = match ck {
            Some(c) => u64::from_le_bytes(
                c.0.as_slice()
                    .try_into()
                    .map_err(|_| PluginError::config("bad checkpoint"))?,
            ),
            None => 0,
        };
        Ok(())
    }
    async fn next_batch(&mut self) -> Result<Option<SourceBatch>> {
        if self.next >= self.o.count {
            return Ok(None);
        }
        let end = (self.next + self.o.batch_rows).min(self.o.count);
        let data = RecordBatch::try_new(
            self.schema.clone(),
            vec![Arc::new(UInt64Array::from_iter_values(self.next..end))],
        )?;
        self.emitted.fetch_add(end - self.next, Ordering::SeqCst);
        self.next = end;
        Ok(Some(SourceBatch {
            category: "test_counts".into(),
            source_system: "test".into(),
            data,
            checkpoint: Checkpoint(end.to_le_bytes().to_vec()),
            positions: Vec::new(),
        }))
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemOptions {
    /// Store name.
    pub name: String,
    /// Counter name of the source, for in-flight measurements.
    #[serde(default)]
    pub tag: String,
    /// How long each write takes, like a slow destination.
    #[serde(default)]
    pub write_ms: u64,
}

pub struct Mem {
    name: String,
    emitted: Arc<AtomicU64>,
    write_ms: u64,
}

impl Describe for Mem {
    type Options = MemOptions;
    const NAME: &'static str = "test_mem";
    const VERSION: &'static str = "0.0.0";
    const CAPABILITIES: u64 = qdp_sdk::capabilities::IDEMPOTENT_WRITE;
}

impl Sink for Mem {
    fn new(o: MemOptions, _: &Context) -> Result<Self> {
        Ok(Self {
            emitted: emitted(&o.tag),
            name: o.name,
            write_ms: o.write_ms,
        })
    }
    fn accepts(&self) -> Accepts {
        Accepts::Categories(vec![
            "test_counts".into(),
            "hello_counts".into(),
            "fixture_rows".into(),
        ])
    }
    async fn write(&mut self, batches: &[Batch]) -> Result<()> {
        let emitted = self.emitted.load(Ordering::SeqCst);
        let panic_now = with_store(&self.name, |s| {
            let p = s.panics > 0 && !s.always_fail;
            if p {
                s.attempts += 1;
                s.panics -= 1;
            }
            p
        });
        if panic_now {
            panic!("scripted panic in a sink");
        }
        if self.write_ms > 0 {
            with_store(&self.name, |s| {
                s.active += 1;
                s.max_active = s.max_active.max(s.active);
            });
            tokio::time::sleep(std::time::Duration::from_millis(self.write_ms)).await;
            with_store(&self.name, |s| s.active -= 1);
        }
        with_store(&self.name, |s| {
            s.attempts += 1;
            if s.always_fail {
                return Err(PluginError::internal("scripted permanent failure"));
            }
            if s.fail_retryable > 0 {
                s.fail_retryable -= 1;
                return Err(PluginError::external("scripted outage"));
            }
            s.max_in_flight = s
                .max_in_flight
                .max(emitted.saturating_sub(s.rows.len() as u64));
            for b in batches {
                if !s.seen.insert((b.meta.origin.clone(), b.meta.seq)) {
                    continue;
                }
                let col = qdp_sdk::arrow::compute::cast(b.data.column(0), &DataType::UInt64)?;
                let col = col
                    .as_any()
                    .downcast_ref::<UInt64Array>()
                    .ok_or_else(|| PluginError::internal("n is not numeric"))?;
                assert_eq!(col.null_count(), 0);
                s.rows.extend(col.iter().flatten());
            }
            Ok(())
        })
    }
}

/// [`Count`] claiming it cannot replay: like a live feed, what it sends
/// after a restart counts as new data.
pub struct LiveCount(Count);

impl Describe for LiveCount {
    type Options = CountOptions;
    const NAME: &'static str = "test_live_count";
    const VERSION: &'static str = "0.0.0";
    const CAPABILITIES: u64 = qdp_sdk::capabilities::RESUME;
}

impl Source for LiveCount {
    fn new(o: CountOptions, ctx: &Context) -> Result<Self> {
        Count::new(o, ctx).map(Self)
    }
    fn outputs(&self) -> Vec<OutputDecl> {
        self.0.outputs()
    }
    async fn start(&mut self, ck: Option<Checkpoint>) -> Result<()> {
        self.0.start(ck).await
    }
    async fn next_batch(&mut self) -> Result<Option<SourceBatch>> {
        self.0.next_batch().await
    }
}

pub fn registry() -> Registry {
    let mut r = Registry::with_builtins();
    r.register_source::<Count>();
    r.register_source::<LiveCount>();
    r.register_sink::<Mem>();
    r
}

/// Locates a plugin library built by `cargo build --workspace`.
pub fn plugin_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    assert!(
        dir.join("libqdp_hello_source.so").exists(),
        "plugin libraries are missing from {}: run `cargo build --workspace` first (cargo xtask test does)",
        dir.display()
    );
    dir
}
