//! A real plugin library (examples/plugins/hello-source) loaded through the
//! dynamic loader and run by the runtime, plus the admin port over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{plugin_dir, registry, with_store};
use qdp_core::Pipeline;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn pipeline(dir: &std::path::Path, store: &str, count: u64, admin: bool) -> String {
    format!(
        r#"
[pipeline]
data_dir = "{dir}"
plugin_path = ["{plugins}"]
{admin}
[sources.hello]
type = "hello"
count = {count}
batch_rows = 250

[sinks.mem]
type = "test_mem"
inputs = ["hello"]
name = "{store}"
"#,
        dir = dir.display(),
        plugins = plugin_dir().display(),
        admin = if admin {
            "[admin]\naddress = \"127.0.0.1:0\"\n"
        } else {
            ""
        },
    )
}

#[tokio::test]
async fn a_plugin_source_runs_through_the_dynamic_loader_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let p = Pipeline::from_toml_str(
        "p.toml",
        &pipeline(dir.path(), "hello", 5_000, false),
        registry(),
    )
    .await
    .unwrap();
    p.run_until(std::future::pending()).await.unwrap();
    let rows = with_store("hello", |s| s.rows.clone());
    assert_eq!(rows, (0..5_000).collect::<Vec<_>>());
    // A second run resumes after the stored checkpoint: the source is done.
    let p = Pipeline::from_toml_str(
        "p.toml",
        &pipeline(dir.path(), "hello", 5_000, false),
        registry(),
    )
    .await
    .unwrap();
    let report = p.run_until(std::future::pending()).await.unwrap();
    assert_eq!(report.exhausted_sources, vec!["hello".to_string()]);
    assert_eq!(
        with_store("hello", |s| s.rows.len()),
        5_000,
        "nothing replayed after a complete run"
    );
    // More rows configured: only the new ones arrive.
    let p = Pipeline::from_toml_str(
        "p.toml",
        &pipeline(dir.path(), "hello", 6_000, false),
        registry(),
    )
    .await
    .unwrap();
    p.run_until(std::future::pending()).await.unwrap();
    assert_eq!(
        with_store("hello", |s| s.rows.clone()),
        (0..6_000).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn plugin_options_are_validated_by_the_plugin_itself() {
    let dir = tempfile::tempdir().unwrap();
    let text = pipeline(dir.path(), "x", 10, false).replace("batch_rows = 250", "batch_rows = 0");
    let err = Pipeline::from_toml_str("p.toml", &text, registry())
        .await
        .err()
        .expect("batch_rows = 0 must be refused");
    let msg = err.to_string();
    assert!(
        msg.contains("p.toml:")
            && msg.contains("`sources.hello`")
            && msg.contains("batch_rows must be at least 1"),
        "{msg}"
    );
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: qdp\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn admin_port_serves_health_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::from_toml_str(
        "p.toml",
        &pipeline(dir.path(), "admin", 2_000, true),
        registry(),
    )
    .await
    .unwrap();
    let addr = p
        .serve_admin()
        .await
        .unwrap()
        .expect("admin address configured");
    p.run_until(std::future::pending()).await.unwrap();
    let health = http_get(addr, "/health").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"status\":\"ok\""), "{health}");
    let metrics = http_get(addr, "/metrics").await;
    assert!(
        metrics.contains("qdp_rows_out_total{pipeline=\"p\",component=\"mem\",kind=\"sink\"} 2000"),
        "{metrics}"
    );
    assert!(metrics.contains("qdp_end_to_end_latency_seconds_count{pipeline=\"p\",component=\"mem\",kind=\"sink\"} 2000"), "{metrics}");
}
