//! `cargo xtask`: a thin dispatcher over the project's chores.
//!
//! * `demo`  — build everything, run `examples/pipelines/demo.toml`, then
//!   the realtime lane on local services when they are installed, then the
//!   batch lane into the local Postgres when it is reachable, then the data
//!   catalogue of the example pipelines (`.qdp/catalog/index.html`).
//! * `test`  — format check, services (ClickHouse, a Kafka-protocol broker;
//!   installed when missing), build, clippy `-D warnings`, every test.
//! * `bench` — `qdp bench NAME` in release mode.
//!
//! Only std: xtask must build in seconds on a fresh machine.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

/// The checkout: from `cargo run`'s own CARGO_MANIFEST_DIR at run time,
/// since a target directory shared by two clones may hold an xtask built
/// in the other one.
fn root() -> PathBuf {
    let here = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| root().join("target"));
            home.join(".cache").join("qdp-target")
        }
    }
}

fn cargo(args: &[&str]) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.args(args)
        .current_dir(root())
        .env("CARGO_TARGET_DIR", target_dir());
    c
}

fn step(name: &str, mut cmd: Command) -> Result<(), String> {
    println!("==> {name}");
    let t = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{name}: cannot start: {e}"))?;
    println!(
        "<== {name}: {} in {:.1} s",
        if status.success() { "ok" } else { "FAILED" },
        t.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

/// A test command: the services are installed by then, so a test that
/// cannot start one is a failure, not a skip.
fn tests(args: &[&str]) -> Command {
    let mut c = cargo(args);
    c.env("QDP_REQUIRE_SERVICES", "1");
    c
}

fn has_nextest() -> bool {
    cargo(&["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Installs what the realtime tests start (ClickHouse, a Kafka-protocol
/// broker) when missing; quick when both are there.
fn services() -> Result<(), String> {
    let mut c = Command::new("bash");
    c.arg(root().join("scripts").join("services.sh"))
        .arg("install")
        .current_dir(root());
    step("services (install when missing)", c)
}

fn test() -> Result<(), String> {
    step("format check", cargo(&["fmt", "--all", "--", "--check"]))?;
    services()?;
    step(
        "build workspace (plugin libraries first)",
        cargo(&["build", "--workspace", "--all-targets"]),
    )?;
    step(
        "clippy -D warnings",
        cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    if has_nextest() {
        step(
            "tests (nextest)",
            tests(&["nextest", "run", "--workspace", "--no-fail-fast"]),
        )?;
        step("doc tests", cargo(&["test", "--workspace", "--doc"]))?;
    } else {
        step("tests", tests(&["test", "--workspace", "--no-fail-fast"]))?;
    }
    println!("all checks passed");
    Ok(())
}

fn demo() -> Result<(), String> {
    step("build workspace", cargo(&["build", "--workspace"]))?;
    let dir = root().join(".qdp").join("demo");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
    }
    let bin = target_dir().join("debug").join("qdp");
    let mut run = Command::new(&bin);
    run.args(["run", "examples/pipelines/demo.toml"])
        .current_dir(root())
        .env("QDP_PLUGIN_PATH", target_dir().join("debug"));
    step("qdp run examples/pipelines/demo.toml", run)?;
    // Where the demo's Iceberg history is and how another engine reads it.
    let mut tables = Command::new(&bin);
    tables
        .args(["iceberg", "tables", "examples/pipelines/demo.toml"])
        .current_dir(root())
        .env("QDP_PLUGIN_PATH", target_dir().join("debug"));
    step("qdp iceberg tables examples/pipelines/demo.toml", tables)?;
    // The realtime lane, on throwaway local services when they are
    // installed (it says how to install them otherwise).
    let mut lane = Command::new(&bin);
    lane.args(["demo-realtime"])
        .current_dir(root())
        .env("QDP_PLUGIN_PATH", target_dir().join("debug"))
        .env("RUST_LOG", "warn");
    step("qdp demo-realtime", lane)?;
    // The batch lane: the bundled EIA/CFTC samples into a Postgres
    // warehouse, when one is reachable (it says so otherwise).
    let mut macro_lane = Command::new(&bin);
    macro_lane
        .args(["demo-macro"])
        .current_dir(root())
        .env("QDP_PLUGIN_PATH", target_dir().join("debug"))
        .env("RUST_LOG", "warn");
    step("qdp demo-macro", macro_lane)?;
    // The data catalogue of the example pipelines: datasets, owners,
    // classification, the source dictionary and lineage, as static files.
    let out = root().join(".qdp").join("catalog");
    let mut catalog = Command::new(&bin);
    catalog
        .args(["catalog", "build", "--out"])
        .arg(&out)
        .current_dir(root())
        .env("QDP_PLUGIN_PATH", target_dir().join("debug"))
        .env("RUST_LOG", "warn");
    step("qdp catalog build --out .qdp/catalog", catalog)?;
    println!("data catalogue: open {}", out.join("index.html").display());
    Ok(())
}

fn bench(name: &str) -> Result<(), String> {
    step(
        "build workspace (release)",
        cargo(&["build", "--release", "--workspace"]),
    )?;
    let bin = target_dir().join("release").join("qdp");
    let mut run = Command::new(&bin);
    run.args(["bench", name])
        .current_dir(root())
        .env("QDP_PLUGIN_PATH", target_dir().join("release"));
    step(&format!("qdp bench {name}"), run)
}

const USAGE: &str =
    "usage: cargo xtask <demo | test | bench [foundation | buffer | realtime | macro | history]>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("test") => test(),
        Some("bench") => bench(args.get(1).map_or("foundation", String::as_str)),
        Some("help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
