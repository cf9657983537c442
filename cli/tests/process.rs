//! The `qdp` binary as an operator runs it: the demo pipeline read back by
//! an independent Parquet reader, SIGKILL in the middle of runs, SIGTERM,
//! `qdp validate` and `qdp plugins`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Guard, files_with, ok, parquet_seqs, plugin_dir, qdp, wait_for_files};

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

fn ndjson_seqs(dir: &Path) -> Vec<u64> {
    let mut seqs = Vec::new();
    for f in files_with(dir, "ndjson") {
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(
                v["unqualified_reason"]
                    .as_str()
                    .is_some_and(|r| !r.is_empty()),
                "a reject without a reason: {line}"
            );
            let raw = &v["seq"];
            seqs.push(raw.as_u64().or_else(|| raw.as_str()?.parse().ok()).unwrap());
        }
    }
    seqs
}

#[test]
fn the_demo_pipeline_writes_parquet_that_another_reader_counts_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/pipelines/demo.toml"),
    )
    .unwrap()
    .replace("rate = 50000", "rate = 0")
    .replace("max_ticks = 1000000", "max_ticks = 60000")
    .replace("invalid_ratio = 0.0005", "invalid_ratio = 0.01");
    std::fs::write(dir.path().join("demo.toml"), demo).unwrap();
    let out = ok(qdp(dir.path())
        .args(["run", "demo.toml", "--summary-json"])
        .output()
        .unwrap());
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["source_rows"], 60_000);
    let out_dir = dir.path().join(".qdp/demo/out");
    let good = parquet_seqs(&out_dir);
    let rejected = ndjson_seqs(&out_dir);
    let sink_rows = |name: &str| {
        summary["sinks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["sink"] == name)
            .unwrap()["rows"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(good.len() as u64, sink_rows("ticks_parquet"));
    assert_eq!(
        sink_rows("history"),
        sink_rows("ticks_parquet"),
        "the Iceberg history committed every valid tick"
    );
    assert_eq!(rejected.len() as u64, sink_rows("unqualified"));
    assert_eq!(
        rejected.len() as u64,
        summary["unqualified_rows"].as_u64().unwrap()
    );
    assert!(
        !rejected.is_empty(),
        "1% invalid ticks must produce rejects"
    );
    let mut all: Vec<u64> = good.into_iter().chain(rejected).collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..60_000).collect::<Vec<_>>(),
        "every tick exactly once"
    );
}

fn kill_pipeline(data: &Path, out: &Path, ticks: u64) -> String {
    format!(
        r#"
[pipeline]
name = "killed"
data_dir = "{data}"

[sources.sim]
type = "market_sim"
seed = 7
rate = 40000
max_ticks = {ticks}
batch_size = 400
invalid_ratio = 0.0

[sinks.out]
type = "file"
inputs = ["sim"]
path = "{out}"
format = "parquet"
batch = {{ max_rows = 4000, max_wait = "100ms" }}
"#,
        data = data.display(),
        out = out.display()
    )
}

#[test]
fn sigkill_in_the_middle_of_runs_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (data, out) = (dir.path().join("state"), dir.path().join("out"));
    let ticks = 120_000;
    std::fs::write(dir.path().join("p.toml"), kill_pipeline(&data, &out, ticks)).unwrap();
    let mut kills = 0;
    for round in 0..4 {
        let mut child = Guard::new(
            qdp(dir.path())
                .args(["run", "p.toml"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let before = files_with(&out, "parquet").len();
        wait_for_files(&mut child, &out, before, 1 + round);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills >= 2, "the runs ended before they could be killed");
    ok(qdp(dir.path()).args(["run", "p.toml"]).output().unwrap());
    let mut seqs = parquet_seqs(&out);
    let total = seqs.len();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), total, "duplicated ticks after {kills} kills");
    assert_eq!(
        seqs,
        (0..ticks).collect::<Vec<_>>(),
        "lost ticks after {kills} kills"
    );
    assert!(
        files_with(&out, "tmp").is_empty(),
        "temporary files of killed runs are cleaned up"
    );
}

#[test]
fn sigterm_drains_commits_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (data, out) = (dir.path().join("state"), dir.path().join("out"));
    std::fs::write(
        dir.path().join("p.toml"),
        kill_pipeline(&data, &out, 100_000_000),
    )
    .unwrap();
    let mut child = Guard::new(
        qdp(dir.path())
            .args(["run", "p.toml", "--summary-json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_files(&mut child, &out, 0, 2);
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let output = child.take().wait_with_output().unwrap();
    assert!(output.status.success(), "exit status {}", output.status);
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["unacknowledged_batches"], 0, "{summary}");
    let committed = parquet_seqs(&out);
    assert_eq!(
        committed.len() as u64,
        summary["source_rows"].as_u64().unwrap(),
        "everything emitted was committed before exit"
    );
    // The next run resumes exactly where the drained one stopped.
    let mut child = Guard::new(
        qdp(dir.path())
            .args(["run", "p.toml", "--for", "1s"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(child.wait().unwrap().success());
    let mut seqs = parquet_seqs(&out);
    seqs.sort_unstable();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
    assert!(seqs.len() > committed.len());
}

#[test]
fn validate_names_file_line_key_and_fix_and_exits_nonzero() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[sources.sim]\ntype = \"market_sim\"\nrate = \"fast\"\n\n[sinks.out]\ntype = \"file\"\ninputs = [\"simm\"]\npath = \"out\"\n",
    )
    .unwrap();
    let out = qdp(dir.path())
        .args(["validate", "bad.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:3:") && err.contains("sources.sim.rate"),
        "{err}"
    );
    assert!(
        err.contains("bad.toml:7:") && err.contains("did you mean `sim`"),
        "{err}"
    );
    assert!(!dir.path().join("out").exists(), "nothing ran");
}

#[test]
fn plugins_list_and_inspect_describe_every_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let list = ok(qdp(dir.path()).args(["plugins", "list"]).output().unwrap());
    let kinds: BTreeMap<&str, &str> = list
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?, w.next()?))
        })
        .collect();
    for (name, kind) in [
        ("market_sim", "source"),
        ("hello", "source"),
        ("file", "sink"),
        ("stdout", "sink"),
        ("map", "transform"),
        ("validate", "transform"),
    ] {
        assert_eq!(kinds.get(name), Some(&kind), "{name} in:\n{list}");
    }
    let lib = plugin_dir().join("libqdp_market_sim.so");
    let inspect = ok(qdp(dir.path())
        .args(["plugins", "inspect"])
        .arg(&lib)
        .output()
        .unwrap());
    for want in [
        "name:         market_sim",
        "kind:         source",
        "abi:          1.1",
        "resume",
        "deterministic_replay",
        "\"max_ticks\"",
    ] {
        assert!(inspect.contains(want), "{want} in:\n{inspect}");
    }
    let bad = qdp(dir.path())
        .args(["plugins", "inspect"])
        .arg(plugin_dir().join("libfixture_wrong_abi.so"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("ABI 2.0"), "{err}");
}
