//! Reconciliation counters on real runs: a feed whose rows are mapped and
//! validated by the built-in transforms (some rejected by each), that also
//! emits unqualified frames and a port wired straight to a sink. Every row
//! received comes out as a category row or an unqualified row, also across
//! a disk buffer that a clean stop leaves half read; a transform that loses
//! rows shows up in the imbalance gauge and in an error naming the source.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use qdp_core::runtime::state::CheckpointStore;
use qdp_core::{Metrics, Pipeline, Registry};
use qdp_sdk::arrow::array::{Int64Array, RecordBatch, StringArray};
use qdp_sdk::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use qdp_sdk::{
    Batch, Checkpoint, Context, Describe, Emit, OutputDecl, PluginError, Result, Sink, Source,
    SourceBatch, Transform,
};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// Batches of ticks the feed sends, and rows in each.
const BATCHES: u64 = 40;
const ROWS: u64 = 50;

/// The feed's emissions, in order: ticks batch `i`, then unqualified frames
/// after every third, then a status row after every fourth.
fn steps() -> Vec<(u64, &'static str)> {
    let mut out = Vec::new();
    for i in 0..BATCHES {
        out.push((i, "ticks"));
        if i % 3 == 0 {
            out.push((i, "unqualified"));
        }
        if i % 4 == 0 {
            out.push((i, "status"));
        }
    }
    out
}

/// What the counters must show: (received, category, unqualified).
fn expected() -> (u64, u64, u64) {
    let ticks = BATCHES * ROWS;
    let frames = 2 * steps().iter().filter(|s| s.1 == "unqualified").count() as u64;
    let status = steps().iter().filter(|s| s.1 == "status").count() as u64;
    let map_rejects = (0..ticks).filter(|r| r % 5 == 0).count() as u64;
    let validate_rejects = (0..ticks).filter(|r| r % 5 != 0 && r % 7 == 3).count() as u64;
    let rejects = map_rejects + validate_rejects;
    (
        ticks + frames + status,
        ticks - rejects + status,
        rejects + frames,
    )
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct FeedOptions {}

/// A raw feed: ticks with unparseable prices and negative sizes, frames it
/// could not read, and status rows.
struct Feed {
    step: usize,
    steps: Vec<(u64, &'static str)>,
}

fn ticks_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new("px", DataType::Utf8, false),
        Field::new("size", DataType::Int64, false),
        Field::new("ts_ms", DataType::Int64, false),
    ]))
}

fn frames_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("frame", DataType::Utf8, true),
        Field::new("unqualified_reason", DataType::Utf8, false),
    ]))
}

fn status_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        "status",
        DataType::Utf8,
        false,
    )]))
}

impl Describe for Feed {
    type Options = FeedOptions;
    const NAME: &'static str = "test_feed";
    const VERSION: &'static str = "0.0.0";
    const CAPABILITIES: u64 =
        qdp_sdk::capabilities::RESUME | qdp_sdk::capabilities::DETERMINISTIC_REPLAY;
}

impl Source for Feed {
    fn new(_: FeedOptions, _: &Context) -> Result<Self> {
        Ok(Self {
            step: 0,
            steps: steps(),
        })
    }
    fn outputs(&self) -> Vec<OutputDecl> {
        let port = |p: &str, c: &str, s| OutputDecl {
            port: Some(p.into()),
            category: c.into(),
            schema: Some(s),
        };
        vec![
            port("ticks", "raw_test_ticks", ticks_schema()),
            port("unqualified", "test_frames_unqualified", frames_schema()),
            port("status", "raw_test_status", status_schema()),
        ]
    }
    async fn start(&mut self, ck: Option<Checkpoint>) -> Result<()> {
        self.step = match ck {
            Some(c) => u64::from_le_bytes(
                c.0.as_slice()
                    .try_into()
                    .map_err(|_| PluginError::config("bad checkpoint"))?,
            ) as usize,
            None => 0,
        };
        Ok(())
    }
    async fn next_batch(&mut self) -> Result<Option<SourceBatch>> {
        let Some(&(i, kind)) = self.steps.get(self.step) else {
            return Ok(None);
        };
        self.step += 1;
        let (category, data) = match kind {
            "ticks" => {
                let rows = i * ROWS..(i + 1) * ROWS;
                let px: Vec<String> = rows
                    .clone()
                    .map(|r| {
                        if r % 5 == 0 {
                            "n/a".to_string()
                        } else {
                            format!("{}.25", 70 + r % 10)
                        }
                    })
                    .collect();
                let size: Vec<i64> = rows
                    .clone()
                    .map(|r| if r % 7 == 3 { -1 } else { 1 + (r % 4) as i64 })
                    .collect();
                let ts: Vec<i64> = rows.map(|r| 1_767_000_000_000 + r as i64).collect();
                let data = RecordBatch::try_new(
                    ticks_schema(),
                    vec![
                        Arc::new(StringArray::from(vec!["CLZ6"; ROWS as usize])),
                        Arc::new(StringArray::from(px)),
                        Arc::new(Int64Array::from(size)),
                        Arc::new(Int64Array::from(ts)),
                    ],
                )?;
                ("raw_test_ticks", data)
            }
            "unqualified" => {
                let data = RecordBatch::try_new(
                    frames_schema(),
                    vec![
                        Arc::new(StringArray::from(vec!["{garbage", "\u{1}"])),
                        Arc::new(StringArray::from(vec!["not JSON"; 2])),
                    ],
                )?;
                ("test_frames_unqualified", data)
            }
            _ => {
                let data = RecordBatch::try_new(
                    status_schema(),
                    vec![Arc::new(StringArray::from(vec!["connected"]))],
                )?;
                ("raw_test_status", data)
            }
        };
        Ok(Some(SourceBatch {
            category: category.into(),
            source_system: "test_feed".into(),
            data,
            checkpoint: Checkpoint((self.step as u64).to_le_bytes().to_vec()),
            positions: Vec::new(),
        }))
    }
}

#[derive(Default)]
struct Tally {
    rows: BTreeMap<String, u64>,
    seen: BTreeSet<(String, String, String, u64)>,
    closed: bool,
}

static TALLIES: LazyLock<Mutex<HashMap<String, Tally>>> = LazyLock::new(Default::default);

fn tally<R>(name: &str, f: impl FnOnce(&mut Tally) -> R) -> R {
    let mut map = TALLIES.lock().unwrap_or_else(|p| p.into_inner());
    f(map.entry(name.to_string()).or_default())
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct TallyOptions {
    /// Tally name.
    name: String,
}

/// A sink that counts committed rows per category, once per batch, and
/// holds writes while its gate is closed.
struct TallySink(String);

impl Describe for TallySink {
    type Options = TallyOptions;
    const NAME: &'static str = "test_tally";
    const VERSION: &'static str = "0.0.0";
    const CAPABILITIES: u64 = qdp_sdk::capabilities::IDEMPOTENT_WRITE;
}

impl Sink for TallySink {
    fn new(o: TallyOptions, _: &Context) -> Result<Self> {
        Ok(Self(o.name))
    }
    async fn write(&mut self, batches: &[Batch]) -> Result<()> {
        while tally(&self.0, |t| t.closed) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tally(&self.0, |t| {
            for b in batches {
                let m = &b.meta;
                let key = (
                    m.origin.clone(),
                    m.producer.clone(),
                    m.category.clone(),
                    m.seq,
                );
                if t.seen.insert(key) {
                    *t.rows.entry(m.category.clone()).or_default() += b.data.num_rows() as u64;
                }
            }
        });
        Ok(())
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct LossyOptions {}

/// A faulty transform: passes its input on without its first row.
struct Lossy;

impl Describe for Lossy {
    type Options = LossyOptions;
    const NAME: &'static str = "test_lossy";
    const VERSION: &'static str = "0.0.0";
}

impl Transform for Lossy {
    fn new(_: LossyOptions, _: &Context) -> Result<Self> {
        Ok(Self)
    }
    fn outputs(&self, inputs: &[OutputDecl]) -> Result<Vec<OutputDecl>> {
        Ok(inputs
            .iter()
            .map(|d| OutputDecl {
                port: None,
                ..d.clone()
            })
            .collect())
    }
    fn process(&mut self, batch: &Batch) -> Result<Vec<Emit>> {
        let n = batch.data.num_rows();
        Ok(vec![Emit {
            port: None,
            category: batch.meta.category.clone(),
            data: batch.data.slice(n.min(1), n.saturating_sub(1)),
        }])
    }
}

fn registry() -> Registry {
    let mut r = common::registry();
    r.register_source::<Feed>();
    r.register_sink::<TallySink>();
    r.register_transform::<Lossy>();
    r
}

/// The connector's shape: map, then validate, category rows to one sink and
/// every reject to another; `tag` names the tallies.
fn connector(dir: &Path, tag: &str, feed_extra: &str) -> String {
    format!(
        r#"
[pipeline]
data_dir = "{dir}"
channel_capacity = 1

[sources.feed]
type = "test_feed"
{feed_extra}

[transforms.ticks]
type = "map"
inputs = ["feed.ticks"]
category = "derivatives_tick_market_data"

[transforms.ticks.fields]
exchange_code = {{ value = "NYMEX" }}
symbol_code = {{ from = "symbol" }}
symbol_type = {{ value = "future" }}
price = {{ from = "px" }}
price_unit = {{ value = "1_USD" }}
size_unit = {{ value = "1_contract" }}
tick_time = {{ from = "ts_ms", epoch = "ms" }}

[transforms.valid]
type = "validate"
inputs = ["ticks"]

[sinks.store]
type = "test_tally"
inputs = ["valid", "feed.status"]
name = "{tag}_store"
batch = {{ max_rows = 1 }}

[sinks.rejects]
type = "test_tally"
inputs = ["feed.unqualified", "ticks.unqualified", "valid.unqualified"]
name = "{tag}_rejects"
"#,
        dir = dir.display()
    )
}

/// `qdp_reconcile_*{..., source="feed", ...}` as rendered for Prometheus.
fn metric(m: &Metrics, name: &str, stage: Option<&str>) -> i64 {
    let text = m.render_prometheus("p");
    let labels = match stage {
        Some(s) => format!("{name}{{pipeline=\"p\",source=\"feed\",stage=\"{s}\"}} "),
        None => format!("{name}{{pipeline=\"p\",source=\"feed\"}} "),
    };
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(&labels))
        .unwrap_or_else(|| panic!("no `{labels}` in:\n{text}"));
    line.parse().unwrap()
}

fn stage(m: &Metrics, s: &str) -> u64 {
    metric(m, "qdp_reconcile_rows_total", Some(s)) as u64
}

fn imbalance(m: &Metrics) -> i64 {
    metric(m, "qdp_reconcile_imbalance_rows", None)
}

fn committed(tag: &str) -> u64 {
    tally(tag, |t| t.rows.values().sum())
}

#[tokio::test]
async fn every_row_received_is_a_category_or_an_unqualified_row() {
    let dir = tempfile::tempdir().unwrap();
    let p = Pipeline::from_toml_str("p.toml", &connector(dir.path(), "plain", ""), registry())
        .await
        .unwrap();
    let m = p.metrics();
    p.run_until(std::future::pending()).await.unwrap();
    let (received, category, unqualified) = expected();
    assert_eq!(stage(&m, "received"), received);
    assert_eq!(stage(&m, "category"), category);
    assert_eq!(stage(&m, "unqualified"), unqualified);
    assert_eq!(received, category + unqualified);
    assert_eq!(imbalance(&m), 0);
    // The counters agree with what the sinks committed.
    assert_eq!(committed("plain_store"), category);
    assert_eq!(committed("plain_rejects"), unqualified);
    let stages: BTreeSet<String> = tally("plain_rejects", |t| {
        t.seen
            .iter()
            .map(|(_, producer, _, _)| producer.clone())
            .collect()
    });
    assert_eq!(stages, ["feed", "ticks", "valid"].map(String::from).into());
}

#[tokio::test]
async fn rows_a_clean_stop_leaves_in_the_buffer_balance_in_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let toml = connector(dir.path(), "parked", r#"buffer = { fsync = "always" }"#);
    let (received, category, unqualified) = expected();
    tally("parked_store", |t| t.closed = true);
    let p = Pipeline::from_toml_str("p.toml", &toml, registry())
        .await
        .unwrap();
    let m1 = p.metrics();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(p.run_until(async {
        let _ = stopped.await;
    }));
    // The feed is acknowledged at the buffer while the store holds its writes.
    let store = CheckpointStore::new(dir.path());
    let last = steps().len() as u64 - 1;
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.load("feed").unwrap().map(|(seq, _)| seq) != Some(last) {
        assert!(Instant::now() < deadline, "the feed was never acknowledged");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.send(()).unwrap();
    tally("parked_store", |t| t.closed = false);
    run.await.unwrap().unwrap();
    assert_eq!(stage(&m1, "received"), received);
    let parked = stage(&m1, "buffer_in") - stage(&m1, "buffer_out");
    assert!(parked > 0, "the stop left no rows in the buffer");
    assert_eq!(imbalance(&m1), 0);
    assert!(committed("parked_store") + committed("parked_rejects") < received);

    // The next run reads the parked rows out of the buffer: nothing new is
    // received, and they balance there.
    let p = Pipeline::from_toml_str("p.toml", &toml, registry())
        .await
        .unwrap();
    let m2 = p.metrics();
    p.run_until(std::future::pending()).await.unwrap();
    assert_eq!(stage(&m2, "received"), 0);
    assert_eq!(stage(&m2, "buffer_out"), parked);
    assert_eq!(imbalance(&m2), 0);
    assert_eq!(committed("parked_store"), category);
    assert_eq!(committed("parked_rejects"), unqualified);
}

/// Log lines written while the test's subscriber is the default.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_transform_that_loses_rows_raises_the_alarm() {
    let dir = tempfile::tempdir().unwrap();
    let toml = connector(dir.path(), "lossy", "")
        .replace(r#"inputs = ["feed.ticks"]"#, r#"inputs = ["lossy"]"#)
        + "\n[transforms.lossy]\ntype = \"test_lossy\"\ninputs = [\"feed.ticks\"]\n";
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let p = Pipeline::from_toml_str("p.toml", &toml, registry())
        .await
        .unwrap();
    let m = p.metrics();
    p.run_until(std::future::pending()).await.unwrap();
    // One row per ticks batch vanished inside the pipeline.
    assert_eq!(imbalance(&m), BATCHES as i64);
    let (received, _, _) = expected();
    assert_eq!(stage(&m, "received"), received);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let alarm = text
        .lines()
        .find(|l| l.contains("reconciliation failed"))
        .unwrap_or_else(|| panic!("no alarm in the log:\n{text}"));
    assert!(
        alarm.contains("ERROR") && alarm.contains("source=feed"),
        "{alarm}"
    );
    assert!(alarm.contains(&format!("imbalance={BATCHES}")), "{alarm}");
}
