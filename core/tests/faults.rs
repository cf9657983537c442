//! Bad plugins and bad batches: refused libraries, panics in every entry
//! point, a source that lies about its schema. The host survives each one,
//! says what happened in one line, and loses nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{plugin_dir, registry, with_store};
use qdp_core::{Pipeline, Registry};
use qdp_sdk::conformance::{self, Outcome};
use qdp_sdk::ffi::host::{LoadError, PluginLibrary};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    let p = plugin_dir().join(format!("lib{name}.so"));
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace`",
        p.display()
    );
    p
}

/// A temp plugin directory holding `fixture` under a scanned `libqdp_*` name.
fn plugin_dir_with(fixture_name: &str, as_name: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture(fixture_name),
        d.path().join(format!("libqdp_{as_name}.so")),
    )
    .unwrap();
    d
}

fn one_line(e: &impl std::fmt::Display) -> String {
    let s = e.to_string();
    assert!(!s.contains('\n'), "error is not one line: {s}");
    s
}

#[test]
fn a_plugin_built_for_another_abi_is_refused_before_any_call() {
    let e = PluginLibrary::open(&fixture("fixture_wrong_abi")).unwrap_err();
    assert!(
        matches!(e, LoadError::AbiMismatch { found_major: 2, .. }),
        "{e:?}"
    );
    let s = one_line(&e);
    assert!(
        s.contains("uses ABI 2.0") && s.contains("rebuild the plugin"),
        "{s}"
    );
}

#[test]
fn a_library_without_the_entry_symbol_is_refused() {
    let e = PluginLibrary::open(&fixture("fixture_no_entry")).unwrap_err();
    assert!(matches!(e, LoadError::MissingSymbol { .. }), "{e:?}");
    assert!(one_line(&e).contains("does not export `qdp_plugin_entry_v1`"));
}

#[test]
fn corrupt_and_missing_plugin_files_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let garbage = d.path().join("libqdp_garbage.so");
    std::fs::write(&garbage, b"\x7fELF but not really a shared object at all").unwrap();
    let truncated = d.path().join("libqdp_truncated.so");
    let real = std::fs::read(plugin_dir().join("libqdp_hello_source.so")).unwrap();
    std::fs::write(&truncated, &real[..real.len() / 3]).unwrap();
    for p in [&garbage, &truncated, &d.path().join("libqdp_absent.so")] {
        let e = PluginLibrary::open(p).unwrap_err();
        assert!(matches!(e, LoadError::Open { .. }), "{e:?}");
        assert!(one_line(&e).contains(&p.display().to_string()));
    }
    // A directory scan skips them, remembers why, and keeps loading the rest.
    std::fs::copy(
        plugin_dir().join("libqdp_hello_source.so"),
        d.path().join("libqdp_hello_source.so"),
    )
    .unwrap();
    let mut reg = Registry::with_builtins();
    reg.load_plugin_dirs(&[d.path().to_path_buf()]);
    assert!(reg.get("hello").is_some());
    assert_eq!(reg.refused.len(), 2, "{:?}", reg.refused);
}

fn config(dir: &Path, plugins: &Path, source: &str, store: &str) -> String {
    format!(
        r#"
[pipeline]
data_dir = "{data}"
plugin_path = ["{plugins}"]

[sources.bad]
type = "misbehaving"
batches = 6
rows = 5
{source}
restart = {{ max_restarts = 2, backoff_initial = "1ms", backoff_max = "5ms" }}

[sinks.mem]
type = "test_mem"
inputs = ["bad"]
name = "{store}"
"#,
        data = dir.display(),
        plugins = plugins.display(),
    )
}

#[tokio::test]
async fn a_refused_plugin_is_named_when_a_pipeline_asks_for_its_type() {
    let plugins = plugin_dir_with("fixture_wrong_abi", "future");
    let data = tempfile::tempdir().unwrap();
    let toml =
        config(data.path(), plugins.path(), "", "unused").replace("misbehaving", "from_the_future");
    let e = Pipeline::from_toml_str("future.toml", &toml, registry())
        .await
        .err()
        .expect("planning must fail")
        .to_string();
    assert!(
        e.contains("future.toml:") && e.contains("sources.bad.type"),
        "{e}"
    );
    assert!(
        e.contains("unknown component type `from_the_future`"),
        "{e}"
    );
    assert!(
        e.contains("libqdp_future.so") && e.contains("ABI 2.0"),
        "{e}"
    );
}

#[tokio::test]
async fn a_plugin_that_panics_in_every_entry_point_never_takes_the_host_down() {
    let plugins = plugin_dir_with("fixture_misbehaving", "misbehaving");
    for entry in ["new", "outputs", "start", "poll"] {
        let data = tempfile::tempdir().unwrap();
        let store = format!("panic_{entry}");
        let toml = config(
            data.path(),
            plugins.path(),
            &format!("panic_in = [\"{entry}\"]"),
            &store,
        );
        let outcome = match Pipeline::from_toml_str("p.toml", &toml, registry()).await {
            Err(e) => e.to_string(),
            Ok(p) => p
                .run_until(std::future::pending())
                .await
                .unwrap_err()
                .to_string(),
        };
        assert!(outcome.contains("plugin panicked"), "{entry}: {outcome}");
        assert!(
            outcome.contains(&format!("panics in `{entry}`")),
            "the panic message reaches the operator: {outcome}"
        );
        assert!(with_store(&store, |s| s.rows.is_empty()), "{entry}");
    }
    // Panics in ack and shutdown cost nothing: every row still lands once.
    for entry in ["ack", "shutdown"] {
        let data = tempfile::tempdir().unwrap();
        let store = format!("panic_{entry}");
        let toml = config(
            data.path(),
            plugins.path(),
            &format!("panic_in = [\"{entry}\"]"),
            &store,
        );
        let p = Pipeline::from_toml_str("p.toml", &toml, registry())
            .await
            .unwrap();
        let _ = p.run_until(std::future::pending()).await;
        assert_eq!(
            with_store(&store, |s| s.rows.clone()),
            (0..30).collect::<Vec<_>>(),
            "{entry}"
        );
    }
}

#[tokio::test]
async fn a_source_that_panics_once_is_restarted_and_delivers_everything_once() {
    let plugins = plugin_dir_with("fixture_misbehaving", "misbehaving");
    let data = tempfile::tempdir().unwrap();
    let toml = config(
        data.path(),
        plugins.path(),
        "panic_once_at = 3",
        "panic_once",
    );
    let p = Pipeline::from_toml_str("p.toml", &toml, registry())
        .await
        .unwrap();
    let metrics = p.metrics();
    p.run_until(std::future::pending()).await.unwrap();
    assert_eq!(
        with_store("panic_once", |s| s.rows.clone()),
        (0..30).collect::<Vec<_>>()
    );
    let text = metrics.render_prometheus("p");
    let restarts = text
        .lines()
        .find(|l| l.starts_with("qdp_restarts_total{") && l.contains("\"bad\""))
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok());
    assert_eq!(restarts, Some(1), "{text}");
}

#[tokio::test]
async fn batches_that_break_the_declared_schema_are_stopped_and_never_acknowledged() {
    let plugins = plugin_dir_with("fixture_misbehaving", "misbehaving");
    let data = tempfile::tempdir().unwrap();
    let toml = config(data.path(), plugins.path(), "lie_from = 4", "liar");
    let p = Pipeline::from_toml_str("p.toml", &toml, registry())
        .await
        .unwrap();
    let e = p
        .run_until(std::future::pending())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not match its declared schema"), "{e}");
    assert!(e.contains("column `price` is Utf8"), "{e}");
    // Exactly the good batches landed, and a rerun does not skip the bad one.
    assert_eq!(
        with_store("liar", |s| s.rows.clone()),
        (0..20).collect::<Vec<_>>()
    );
    let toml = config(data.path(), plugins.path(), "", "liar_fixed");
    let p = Pipeline::from_toml_str("p.toml", &toml, registry())
        .await
        .unwrap();
    p.run_until(std::future::pending()).await.unwrap();
    assert_eq!(
        with_store("liar_fixed", |s| s.rows.clone()),
        (20..30).collect::<Vec<_>>()
    );
}

#[test]
fn the_conformance_kit_catches_a_lying_or_panicking_source() {
    let lib = PluginLibrary::open(&fixture("fixture_misbehaving")).unwrap();
    let good = serde_json::json!({ "batches": 8, "rows": 3 });
    conformance::source(lib.clone(), good)
        .empty_options(serde_json::json!({ "batches": 0 }))
        .run()
        .assert_passed();
    let liar = conformance::source(
        lib.clone(),
        serde_json::json!({ "batches": 8, "lie_from": 2 }),
    )
    .run();
    assert!(
        matches!(liar.outcome("schema"), Some(Outcome::Failed(why)) if why.contains("price")),
        "{liar}"
    );
    let panicky = conformance::source(
        lib,
        serde_json::json!({ "batches": 8, "panic_in": ["shutdown"] }),
    )
    .run();
    assert!(
        matches!(panicky.outcome("shutdown"), Some(Outcome::Failed(why)) if why.contains("panicked")),
        "{panicky}"
    );
}
