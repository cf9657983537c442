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
