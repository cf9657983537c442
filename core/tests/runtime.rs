//! The runtime end to end with in-process components: delivery exactly once
//! through restarts, retries, panics, resume from checkpoints, backpressure,
//! and a permanently failing sink that stops the pipeline without losing
//! acknowledged data.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{registry, with_store};
use qdp_core::Pipeline;
use std::sync::atomic::Ordering::Relaxed;

fn toml(dir: &std::path::Path, name: &str, count: u64, extra_sink: &str) -> String {
    format!(
        r#"
[pipeline]
name = "{name}"
data_dir = "{dir}"
channel_capacity = 2
shutdown_timeout = "5s"

[sources.src]
type = "test_count"
count = {count}
batch_rows = 100
tag = "{name}"

[sinks.mem]
type = "test_mem"
inputs = ["src"]
name = "{name}"
tag = "{name}"
{extra_sink}
[sinks.mem.batch]
max_rows = 300
max_wait = "20ms"

[sinks.mem.restart]
max_restarts = 3
backoff_initial = "1ms"
backoff_max = "5ms"
"#,
        dir = dir.display()
    )
}

async fn run(
    name: &str,
    count: u64,
) -> (
    Result<qdp_core::RunReport, qdp_core::Error>,
    std::sync::Arc<qdp_core::Metrics>,
) {
    let dir = tempfile::tempdir().unwrap();
    let p = Pipeline::from_toml_str("t.toml", &toml(dir.path(), name, count, ""), registry())
        .await
        .unwrap();
    let m = p.metrics();
    (p.run_until(std::future::pending()).await, m)
}

fn sorted_rows(name: &str) -> Vec<u64> {
    with_store(name, |s| {
        let mut r = s.rows.clone();
        r.sort_unstable();
        r
    })
}

#[tokio::test]
async fn every_row_arrives_exactly_once() {
    let (r, m) = run("once", 10_000).await;
    let report = r.unwrap();
    assert_eq!(report.exhausted_sources, vec!["src".to_string()]);
    assert_eq!(report.unacknowledged_batches, 0);
    assert_eq!(sorted_rows("once"), (0..10_000).collect::<Vec<_>>());
    let sink = m
        .all()
        .into_iter()
        .find(|(id, _, _)| id == "mem")
        .unwrap()
        .2;
    assert_eq!(sink.rows_out.load(Relaxed), 10_000);
    assert!(sink.latency.count() == 10_000);
}

#[tokio::test]
async fn retryable_failures_and_panics_are_retried_without_loss() {
    with_store("flaky", |s| {
        s.fail_retryable = 4;
        s.panics = 2;
    });
    let (r, m) = run("flaky", 3_000).await;
    r.unwrap();
    assert_eq!(sorted_rows("flaky"), (0..3_000).collect::<Vec<_>>());
    let sink = m
        .all()
        .into_iter()
        .find(|(id, _, _)| id == "mem")
        .unwrap()
        .2;
    assert_eq!(sink.retries.load(Relaxed), 4);
    assert_eq!(sink.restarts.load(Relaxed), 2);
}

#[tokio::test]
async fn a_permanently_failing_sink_stops_the_pipeline_and_acknowledges_nothing() {
    with_store("broken", |s| s.always_fail = true);
    let dir = tempfile::tempdir().unwrap();
    let p = Pipeline::from_toml_str("t.toml", &toml(dir.path(), "broken", 1_000, ""), registry())
        .await
        .unwrap();
    let err = p.run_until(std::future::pending()).await.unwrap_err();
    assert!(
        err.to_string().contains("scripted permanent failure"),
        "{err}"
    );
    assert_eq!(
        with_store("broken", |s| s.attempts),
        4,
        "first try plus three restarts"
    );
    let store = qdp_core::runtime::state::CheckpointStore::new(dir.path());
    assert_eq!(
        store.load("src").unwrap(),
        None,
        "no checkpoint may be stored for uncommitted data"
    );
}

#[tokio::test]
async fn a_stopped_run_resumes_from_its_checkpoint_without_gaps_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let text = toml(dir.path(), "resume", 20_000, "");
    // First run: stop as soon as the sink has committed something.
    let p = Pipeline::from_toml_str("t.toml", &text, registry())
        .await
        .unwrap();
    let stop = async {
        loop {
            if with_store("resume", |s| s.rows.len()) >= 500 {
                return;
            }
            tokio::task::yield_now().await;
        }
    };
    let first = p.run_until(stop).await.unwrap();
    assert!(
        first.exhausted_sources.is_empty(),
        "the first run must have been stopped early"
    );
    let after_first = with_store("resume", |s| s.rows.len());
    assert!(after_first < 20_000);
    let (seq, _) = qdp_core::runtime::state::CheckpointStore::new(dir.path())
        .load("src")
        .unwrap()
        .unwrap();
    assert!(seq > 0);
    // Second run continues from the stored checkpoint.
    let p = Pipeline::from_toml_str("t.toml", &text, registry())
        .await
        .unwrap();
    p.run_until(std::future::pending()).await.unwrap();
    assert_eq!(sorted_rows("resume"), (0..20_000).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_slow_sink_holds_the_source_back() {
    with_store("slow", |s| s.fail_retryable = 3);
    let (r, _) = run("slow", 50_000).await;
    r.unwrap();
    let max = with_store("slow", |s| s.max_in_flight);
    // channel (2 batches) + pending batch (<= 300 rows + 1 batch) + one batch
    // being produced, in rows of 100.
    assert!(max <= 1_000, "source ran {max} rows ahead of the sink");
    assert_eq!(sorted_rows("slow").len(), 50_000);
}

/// After a failed run, a replayable source resends its batches under the
/// same numbers (so sinks can skip what they have), while a source that
/// cannot replay gets numbers it never used (so sinks never skip new data).
#[tokio::test]
async fn batch_numbers_are_reused_only_by_sources_that_replay() {
    for (ty, store, first_seq) in [
        ("test_count", "numbers_replay", 0),
        ("test_live_count", "numbers_live", 1024),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = toml(dir.path(), store, 3_000, "")
            .replace("type = \"test_count\"", &format!("type = \"{ty}\""));
        with_store(store, |s| s.always_fail = true);
        let p = Pipeline::from_toml_str("t.toml", &cfg, registry())
            .await
            .unwrap();
        assert!(p.run_until(std::future::pending()).await.is_err());
        with_store(store, |s| s.always_fail = false);
        let p = Pipeline::from_toml_str("t.toml", &cfg, registry())
            .await
            .unwrap();
        p.run_until(std::future::pending()).await.unwrap();
        let (rows, seqs) = with_store(store, |s| {
            (
                s.rows.clone(),
                s.seen.iter().map(|(_, q)| *q).collect::<Vec<_>>(),
            )
        });
        assert_eq!(rows, (0..3_000).collect::<Vec<_>>(), "{ty}");
        assert_eq!(seqs.first().copied(), Some(first_seq), "{ty}");
        assert_eq!(seqs.len(), 30, "{ty}");
    }
}

async fn run_with(name: &str, count: u64, extra_sink: &str) -> std::sync::Arc<qdp_core::Metrics> {
    let dir = tempfile::tempdir().unwrap();
    let p = Pipeline::from_toml_str(
        "t.toml",
        &toml(dir.path(), name, count, extra_sink),
        registry(),
    )
    .await
    .unwrap();
    let m = p.metrics();
    let report = p.run_until(std::future::pending()).await.unwrap();
    assert_eq!(report.unacknowledged_batches, 0);
    m
}

#[tokio::test]
async fn parallel_writers_deliver_every_row_exactly_once() {
    run_with("parallel", 6_000, "write_ms = 15\nparallelism = 3\n").await;
    assert_eq!(sorted_rows("parallel"), (0..6_000).collect::<Vec<_>>());
    let most = with_store("parallel", |s| s.max_active);
    assert!(
        (2..=3).contains(&most),
        "{most} writes at once with 3 writers"
    );
}

#[tokio::test]
async fn auto_parallelism_adds_writers_when_writes_queue_up() {
    let m = run_with(
        "auto",
        20_000,
        "write_ms = 40\nparallelism = { min = 1, max = 4 }\n",
    )
    .await;
    assert_eq!(sorted_rows("auto"), (0..20_000).collect::<Vec<_>>());
    let most = with_store("auto", |s| s.max_active);
    assert!(most >= 2, "a slow sink with a backlog kept {most} writer");
    assert!(most <= 4, "{most} writers, above max");
    let text = m.render_prometheus("t");
    assert!(
        text.contains("qdp_sink_workers{pipeline=\"t\",component=\"mem\",kind=\"sink\"} 0"),
        "workers are released at the end"
    );
    assert!(
        text.contains(
            "qdp_sink_commit_seconds_count{pipeline=\"t\",component=\"mem\",kind=\"sink\"}"
        )
    );
}
