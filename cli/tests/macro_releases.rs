//! The batch lane's fault drill: `qdp bench macro` runs 100 simulated
//! weekly WPSR releases through a real `qdp run` process (eia → lake +
//! Postgres warehouse) with 429s and Retry-After, 5xx, hung requests,
//! bodies cut short, late publications, revised prior weeks and the process
//! killed with SIGKILL mid-load. At least 99 must load exactly right within
//! two minutes of publication, and none may be silently wrong.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::qdp;
use std::collections::BTreeMap;

const ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// `key=value` pairs of a line.
fn pairs(line: &str) -> BTreeMap<String, String> {
    line.split_whitespace()
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_hundred_releases_with_faults_load_right_and_on_time() {
    if std::net::TcpStream::connect("127.0.0.1:5432").is_err() {
        let msg = "Postgres at 127.0.0.1:5432 is not available";
        assert!(
            !qdp_test_services::required(),
            "{msg} (QDP_REQUIRE_SERVICES=1)"
        );
        eprintln!("SKIPPED: {msg}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = qdp(dir.path())
        .args(["bench", "macro", "--releases", "100", "--postgres", ADMIN])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let shown = format!("stdout:\n{stdout}\nstderr (tail):\n{}", tail(&stderr));

    // Every kind of fault was really injected.
    let faults = stdout
        .lines()
        .find(|l| l.starts_with("macro: 100 weekly releases"))
        .unwrap_or_else(|| panic!("no fault summary\n{shown}"));
    for (kind, n) in pairs(faults) {
        if kind != "no_fault" {
            assert!(n.parse::<u32>().unwrap() > 0, "no `{kind}` fault\n{shown}");
        }
    }
    let kills = stdout
        .lines()
        .find(|l| l.contains("process killed mid-load"))
        .unwrap_or_else(|| panic!("no run summary\n{shown}"));
    assert!(!kills.contains("killed mid-load 0 times"), "{shown}");

    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("bench macro releases=100 "), "{shown}");
    let f = pairs(last);
    let num = |k: &str| f[k].parse::<f64>().unwrap();
    assert!(num("loaded_ok") >= 99.0, "{shown}");
    assert_eq!(num("silently_wrong"), 0.0, "{shown}");
    assert!(num("p99_lag_s") <= 120.0, "{shown}");
    assert!(num("p50_lag_s") <= num("p99_lag_s"), "{shown}");
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
