//! The Iceberg sink under kill -9, through the `qdp` binary: the pipeline
//! is frozen (SIGSTOP) as soon as a new data file appears, the table is
//! read to see whether that file is committed yet, and the process is
//! killed either before its commit or just after it. After every kill the
//! pipeline starts again from its checkpoint; at the end every tick is in
//! the table exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Guard, files_with, ok, qdp};
use qdp_iceberg::{IcebergOptions, inspect};
use qdp_sdk::arrow::array::AsArray;
use qdp_sdk::arrow::datatypes::TimestampNanosecondType;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TABLE: &str = "derivatives_tick_market_data";

fn pipeline(root: &Path, ticks: u64) {
    std::fs::write(
        root.join("p.toml"),
        format!(
            r#"
[pipeline]
name = "history"
data_dir = "{root}/state"
shutdown_timeout = "5s"

[sources.sim]
type = "market_sim"
seed = 11
rate = 200000
max_ticks = {ticks}
batch_size = 2000
invalid_ratio = 0.0

[transforms.ticks]
type = "map"
inputs = ["sim"]
category = "derivatives_tick_market_data"
source_system = "sim"

[transforms.ticks.fields]
exchange_code = {{ from = "exchange" }}
symbol_code = {{ from = "symbol" }}
symbol_type = {{ from = "instrument_type" }}
tick_time = {{ from = "ts_event_ns", epoch = "ns" }}

[sinks.history]
type = "iceberg"
inputs = ["ticks"]
catalog_uri = "sqlite://{root}/catalog.db?mode=rwc"
warehouse = "file://{root}/warehouse"
batch = {{ max_rows = 20000, max_wait = "50ms" }}
restart = {{ backoff_initial = "50ms", backoff_max = "500ms" }}
"#,
            root = root.display(),
        ),
    )
    .unwrap();
}

fn options(root: &Path) -> IcebergOptions {
    serde_json::from_value(serde_json::json!({
        "catalog_uri": format!("sqlite://{}/catalog.db?mode=rwc", root.display()),
        "warehouse": format!("file://{}/warehouse", root.display()),
    }))
    .unwrap()
}

/// Data files the table's current snapshot references; `None` while the
/// catalog cannot be read (the frozen writer may hold its lock).
fn committed(rt: &tokio::runtime::Runtime, root: &Path) -> Option<BTreeSet<String>> {
    rt.block_on(async {
        let c = inspect::open(&options(root), None).await.ok()?;
        match inspect::load(c.as_ref(), "history", TABLE).await.ok()? {
            Some(t) => inspect::data_files(&t).await.ok(),
            None => Some(BTreeSet::new()),
        }
    })
}

fn signal(pid: u32, sig: &str) {
    let s = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(s.success(), "kill {sig} {pid}");
}

fn on_disk(root: &Path) -> BTreeSet<PathBuf> {
    files_with(&root.join("warehouse"), "parquet")
        .into_iter()
        .collect()
}

fn url(p: &Path) -> String {
    format!("file://{}", p.display())
}

#[test]
fn kill_9_before_and_after_commits_loses_and_duplicates_nothing() {
    let ticks: u64 = 600_000;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    pipeline(root, ticks);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut before_commit, mut after_commit) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(300);
    while before_commit < 3 || after_commit < 3 {
        assert!(Instant::now() < deadline, "kills did not land in 5 minutes");
        let mut child = Guard::new(
            qdp(root)
                .args(["run", "p.toml"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let pid = child.id();
        let mut seen = on_disk(root);
        let want_before = before_commit <= after_commit;
        'watch: loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "the pipeline finished ({status}) before the kills were done: make it longer"
                );
            }
            let new: Vec<PathBuf> = on_disk(root).difference(&seen).cloned().collect();
            if new.is_empty() {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            if want_before {
                // Frozen, the table says whether these files are committed.
                signal(pid, "-STOP");
                let Some(refs) = committed(&rt, root) else {
                    signal(pid, "-CONT");
                    continue;
                };
                if new.iter().any(|p| !refs.contains(&url(p))) {
                    signal(pid, "-KILL");
                    before_commit += 1;
                    break 'watch;
                }
                seen.extend(new);
                signal(pid, "-CONT");
            } else {
                // Killed the moment the table references them.
                loop {
                    if committed(&rt, root)
                        .is_some_and(|refs| new.iter().all(|p| refs.contains(&url(p))))
                    {
                        signal(pid, "-KILL");
                        after_commit += 1;
                        break 'watch;
                    }
                    assert!(
                        child.try_wait().unwrap().is_none(),
                        "the pipeline finished before the kills were done"
                    );
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        child.wait().unwrap();
    }
    // The last run goes to the end of the simulation.
    ok(qdp(root).args(["run", "p.toml"]).output().unwrap());

    let (rows, keys, referenced) = rt.block_on(async {
        let c = inspect::open(&options(root), None).await.unwrap();
        let t = inspect::load(c.as_ref(), "history", TABLE)
            .await
            .unwrap()
            .unwrap();
        let mut keys = BTreeSet::new();
        let mut rows = 0;
        for b in inspect::rows(&t).await.unwrap() {
            rows += b.num_rows();
            let sym = b.column_by_name("symbol_code").unwrap().as_string::<i32>();
            let ts = b
                .column_by_name("tick_time")
                .unwrap()
                .as_primitive::<TimestampNanosecondType>();
            for i in 0..b.num_rows() {
                keys.insert((sym.value(i).to_string(), ts.value(i)));
            }
        }
        (rows, keys, inspect::data_files(&t).await.unwrap())
    });
    assert_eq!(keys.len() as u64, ticks, "lost ticks");
    assert_eq!(rows as u64, ticks, "duplicated ticks");
    let orphans = on_disk(root)
        .into_iter()
        .filter(|p| !referenced.contains(&url(p)))
        .count();
    assert!(
        orphans >= before_commit,
        "each kill before a commit left its files unreferenced ({orphans} orphans, {before_commit} kills)"
    );
    println!(
        "kills before a commit: {before_commit}, after a commit: {after_commit}; unreferenced files left: {orphans}"
    );
}
