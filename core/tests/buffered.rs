//! A disk buffer on a source's output, run by the runtime: sources are
//! acknowledged once their batches are durable in the buffer, sinks catch
//! up from it, and what a failed run left in it is delivered by the next.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{registry, with_store};
use qdp_core::Pipeline;
use qdp_core::buffer::inspect;
use qdp_core::runtime::state::CheckpointStore;
use std::path::Path;
use std::time::{Duration, Instant};

fn config(dir: &Path, store: &str, count: u64, buffer: &str) -> String {
    format!(
        r#"
[pipeline]
data_dir = "{dir}"

[sources.count]
type = "test_count"
count = {count}
batch_rows = 500
buffer = {{ {buffer} }}

[sinks.mem]
type = "test_mem"
inputs = ["count"]
name = "{store}"
restart = {{ max_restarts = 1, backoff_initial = "5ms", backoff_max = "50ms" }}
"#,
        dir = dir.display()
    )
}

#[tokio::test]
async fn sources_are_acknowledged_at_the_buffer_while_the_sink_is_down() {
    let dir = tempfile::tempdir().unwrap();
    with_store("buffered_down", |s| s.fail_retryable = u32::MAX);
    let toml = config(dir.path(), "buffered_down", 20_000, r#"fsync = "always""#);
    let p = Pipeline::from_toml_str("p.toml", &toml, registry())
        .await
        .unwrap();
    let run = tokio::spawn(p.run_until(std::future::pending()));
    // Every batch is acknowledged to the source although no sink committed any.
    let store = CheckpointStore::new(dir.path());
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.load("count").unwrap().map(|(seq, _)| seq) != Some(39) {
        assert!(
            Instant::now() < deadline,
            "the source was not acknowledged at the buffer"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(with_store("buffered_down", |s| s.rows.is_empty()));
    let buffer = dir.path().join("buffers/count");
    let pending = inspect(&buffer).unwrap();
    assert_eq!(pending.next_index, 40);
    assert_eq!(
        pending.cursors.iter().map(|c| c.pending_rows).sum::<u64>(),
        20_000
    );
    // The sink recovers and catches up from the buffer.
    with_store("buffered_down", |s| s.fail_retryable = 0);
    run.await.unwrap().unwrap();
    assert_eq!(
        with_store("buffered_down", |s| s.rows.clone()),
        (0..20_000).collect::<Vec<_>>()
    );
    let done = inspect(&buffer).unwrap();
    let mem = done.cursors.iter().find(|c| c.name == "mem").unwrap();
    assert_eq!((mem.next, mem.pending_records), (40, 0));
}

#[tokio::test]
async fn what_a_failed_run_left_in_the_buffer_is_delivered_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    with_store("buffered_fail", |s| s.always_fail = true);
    let toml = config(dir.path(), "buffered_fail", 10_000, "");
    let p = Pipeline::from_toml_str("p.toml", &toml, registry())
        .await
        .unwrap();
    let e = p.run_until(std::future::pending()).await.unwrap_err();
    assert!(e.to_string().contains("mem"), "{e}");
    assert!(with_store("buffered_fail", |s| s.rows.is_empty()));
    // The sink is fixed; the source has nothing left to send, the buffer does.
    with_store("buffered_fail", |s| s.always_fail = false);
    let p = Pipeline::from_toml_str("p.toml", &toml, registry())
        .await
        .unwrap();
    p.run_until(std::future::pending()).await.unwrap();
    let rows = with_store("buffered_fail", |s| s.rows.clone());
    assert_eq!(rows, (0..10_000).collect::<Vec<_>>());
}

#[tokio::test]
async fn buffer_settings_are_checked_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let bad = config(
        dir.path(),
        "unused",
        10,
        r#"fsync = "sometimes", max_bytes = "lots", colour = 1"#,
    );
    let e = Pipeline::from_toml_str("b.toml", &bad, registry())
        .await
        .err()
        .unwrap()
        .to_string();
    for want in [
        "sources.count.buffer.fsync",
        "sources.count.buffer.max_bytes",
        "sources.count.buffer.colour",
        "b.toml:9:",
    ] {
        assert!(e.contains(want), "{want} in {e}");
    }
    let on_sink = config(dir.path(), "unused", 10, "").replace(
        "name = \"unused\"",
        "name = \"unused\"\nbuffer = { fsync = \"os\" }",
    );
    let e = Pipeline::from_toml_str("s.toml", &on_sink, registry())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("sinks.mem.buffer") && e.contains("put the buffer on the source"),
        "{e}"
    );
    assert!(!dir.path().join("buffers").exists(), "nothing was created");
}
