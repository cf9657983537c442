//! `qdp run` with `[pipeline.lineage]`: the run's START and COMPLETE events,
//! with the sources' systems as inputs and the sinks' folders and Iceberg
//! tables as outputs, land in the configured file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ok, qdp};
use std::path::Path;

#[test]
fn a_run_emits_start_and_complete_with_its_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/pipelines/demo.toml"),
    )
    .unwrap()
    .replace("rate = 50000", "rate = 0")
    .replace("max_ticks = 1000000", "max_ticks = 5000")
    .replace(
        "shutdown_timeout = \"30s\"",
        "shutdown_timeout = \"30s\"\nlineage = { file = \"lineage/events.ndjson\", namespace = \"desk\" }",
    );
    std::fs::write(dir.path().join("demo.toml"), demo).unwrap();
    ok(qdp(dir.path()).args(["run", "demo.toml"]).output().unwrap());

    let text = std::fs::read_to_string(dir.path().join("lineage/events.ndjson")).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["START", "COMPLETE"]);
    assert_eq!(events[0]["run"]["runId"], events[1]["run"]["runId"]);
    assert_eq!(events[1]["job"]["namespace"], "desk");
    assert_eq!(events[1]["job"]["name"], "demo");
    let names = |key: &str| -> Vec<String> {
        events[1][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("inputs"), ["market_sim"]);
    let outputs = names("outputs");
    for want in [
        ".qdp/demo/out/derivatives_tick_market_data",
        ".qdp/demo/out/derivatives_tick_market_data_unqualified",
        "history.derivatives_tick_market_data",
    ] {
        assert!(
            outputs.iter().any(|o| o == want),
            "{want} not in {outputs:?}"
        );
    }
}

/// A scheduled pass that read something is a run of its own job
/// `<pipeline>.<source>`, inside the process's run.
#[test]
fn a_scheduled_pass_is_a_run_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let drop = dir.path().join("drop");
    std::fs::create_dir_all(&drop).unwrap();
    std::fs::write(
        drop.join("clients_1.csv"),
        "client_id,client_name\nC001,Atlas Refining\nC002,Nordlys Shipping AS\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("drops.toml"),
        r#"
[pipeline]
name = "drops"
lineage = { file = "events.ndjson" }

[sources.drop]
type = "files"
folder = "drop"
settle = "1ms"
datasets = { clients = "clients*.csv" }
schedule = "0 0 * * * *"

[sinks.out]
type = "file"
inputs = ["drop.bronze_clients"]
path = "out"
format = "ndjson"
"#,
    )
    .unwrap();
    ok(qdp(dir.path())
        .args(["run", "--once", "drops.toml"])
        .output()
        .unwrap());

    let text = std::fs::read_to_string(dir.path().join("events.ndjson")).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["job"]["name"].as_str().unwrap().to_string(),
                e["eventType"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("drops", "START"),
        ("drops.drop", "START"),
        ("drops.drop", "COMPLETE"),
        ("drops", "COMPLETE"),
    ];
    assert_eq!(
        seen,
        want.map(|(j, k)| (j.to_string(), k.to_string())),
        "{text}"
    );
    assert_eq!(events[1]["run"]["runId"], events[2]["run"]["runId"]);
    assert_ne!(events[0]["run"]["runId"], events[1]["run"]["runId"]);
    assert_eq!(events[2]["outputs"][0]["name"], "out/bronze_clients");
    assert_eq!(events[2]["inputs"][0]["name"], "files");
}
