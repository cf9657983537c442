//! The disk buffer under real faults, through the `qdp` binary: kill -9 at
//! random moments, a sink target that is unwritable for a minute, a buffer
//! too small for the outage, and a flipped byte in a sealed segment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Guard, files_with, ok, parquet_seqs, qdp, wait_for_files};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    out: PathBuf,
    buffer: PathBuf,
}

fn setup(sim: &str, buffer: &str, admin_port: Option<u16>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let out = root.join("out");
    let admin = admin_port.map_or(String::new(), |p| {
        format!("[admin]\naddress = \"127.0.0.1:{p}\"\n")
    });
    std::fs::write(
        root.join("p.toml"),
        format!(
            r#"
[pipeline]
name = "faults"
data_dir = "{state}"
shutdown_timeout = "5s"
{admin}
[sources.sim]
type = "market_sim"
seed = 3
batch_size = 500
invalid_ratio = 0.0
{sim}

[sources.sim.buffer]
{buffer}

[sinks.out]
type = "file"
inputs = ["sim"]
path = "{out}"
format = "parquet"
batch = {{ max_rows = 5000, max_wait = "100ms" }}
restart = {{ backoff_initial = "50ms", backoff_max = "500ms" }}
"#,
            state = root.join("state").display(),
            out = out.display(),
        ),
    )
    .unwrap();
    let buffer = root.join("state/buffers/sim");
    Setup {
        _dir: dir,
        root,
        out,
        buffer,
    }
}

fn start(s: &Setup, log: Stdio) -> Guard {
    Guard::new(
        qdp(&s.root)
            .args(["run", "p.toml"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

/// Makes the sink's target unwritable: its directory becomes a plain file.
fn break_target(out: &Path) {
    std::fs::rename(out, out.with_extension("saved")).unwrap();
    std::fs::write(out, b"not a directory").unwrap();
}

fn repair_target(out: &Path) {
    std::fs::remove_file(out).unwrap();
    std::fs::rename(out.with_extension("saved"), out).unwrap();
}

fn inspect(buffer: &Path) -> serde_json::Value {
    let out = ok(qdp(buffer)
        .args(["buffer", "inspect", "--json"])
        .arg(buffer)
        .output()
        .unwrap());
    serde_json::from_str(&out).unwrap()
}

fn pending_rows(buffer: &Path) -> u64 {
    inspect(buffer)["cursors"][0]["pending_rows"]
        .as_u64()
        .unwrap()
}

fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn assert_exactly_once(out: &Path, ticks: u64) {
    let mut seqs = parquet_seqs(out);
    let total = seqs.len();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), total, "duplicated ticks");
    assert_eq!(seqs.len() as u64, ticks, "lost ticks");
    assert_eq!(seqs.last().copied(), Some(ticks - 1));
}

#[test]
fn kill_9_at_twenty_random_moments_loses_and_duplicates_nothing() {
    let ticks = 600_000;
    let s = setup(
        &format!("rate = 60000\nmax_ticks = {ticks}"),
        r#"fsync = "group""#,
        None,
    );
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut kills = 0;
    for _ in 0..20 {
        let mut child = start(&s, Stdio::null());
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let moment = Duration::from_millis(80 + seed % 400);
        std::thread::sleep(moment); // the random moment of the kill, not a synchronisation
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert_eq!(kills, 20, "every kill landed on a running pipeline");
    ok(qdp(&s.root).args(["run", "p.toml"]).output().unwrap());
    assert_exactly_once(&s.out, ticks);
    assert!(files_with(&s.out, "tmp").is_empty());
    ok(qdp(&s.root)
        .args(["buffer", "verify"])
        .arg(&s.buffer)
        .output()
        .unwrap());
    assert_eq!(pending_rows(&s.buffer), 0, "the backlog is drained");
}

#[test]
fn an_unwritable_sink_target_for_sixty_seconds_loses_nothing() {
    let ticks = 20_000 * 75;
    let s = setup(
        &format!("rate = 20000\nmax_ticks = {ticks}"),
        r#"max_bytes = "1GiB""#,
        None,
    );
    let mut child = start(&s, Stdio::null());
    wait_for_files(&mut child, &s.out, 0, 1);
    break_target(&s.out);
    let outage = Instant::now();
    wait_until(
        "the buffer holds a backlog",
        Duration::from_secs(30),
        || pending_rows(&s.buffer) > 20_000,
    );
    let early = pending_rows(&s.buffer);
    std::thread::sleep(Duration::from_secs(60).saturating_sub(outage.elapsed())); // the outage lasts a minute
    let late = pending_rows(&s.buffer);
    assert!(
        late > early + 500_000,
        "the source kept running during the outage: {early} -> {late}"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the pipeline survived the outage"
    );
    repair_target(&s.out);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert_exactly_once(&s.out, ticks);
    assert_eq!(pending_rows(&s.buffer), 0, "the backlog drained");
}

fn http_get(port: u16, path: &str) -> String {
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    c.read_to_string(&mut body).unwrap();
    body
}

fn gauge(metrics: &str, name: &str, component: &str) -> f64 {
    metrics
        .lines()
        .find(|l| {
            l.starts_with(&format!("{name}{{")) && l.contains(&format!("component=\"{component}\""))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{name} for {component} missing from:\n{metrics}"))
}

#[test]
fn a_full_buffer_holds_the_source_back_says_why_and_drops_nothing() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ticks = 150_000;
    let s = setup(
        &format!("rate = 50000\nmax_ticks = {ticks}"),
        r#"max_bytes = "512KiB"
segment_bytes = "128KiB""#,
        Some(port),
    );
    let log = s.root.join("qdp.log");
    let mut child = start(&s, Stdio::from(std::fs::File::create(&log).unwrap()));
    wait_for_files(&mut child, &s.out, 0, 1);
    break_target(&s.out);
    // Commits already under way when the target broke may free a little
    // room at first; after a second of being full, the state is steady.
    let full_for = |secs: f64| {
        move || {
            gauge(
                &http_get(port, "/metrics"),
                "qdp_buffer_full_seconds",
                "sim",
            ) > secs
        }
    };
    wait_until("full for a second", Duration::from_secs(30), full_for(1.0));
    let metrics = http_get(port, "/metrics");
    let pending = gauge(&metrics, "qdp_buffer_pending_bytes", "sim");
    assert!(pending <= 512.0 * 1024.0, "the cap holds: {pending}");
    let health = http_get(port, "/health");
    assert!(
        health.contains("\"degraded\"") && health.contains("\"full\":true"),
        "{health}"
    );
    // The bounded channel in front of the buffer is full too by now: the
    // source is held back and emits nothing more while the sink is down.
    let held = gauge(&http_get(port, "/metrics"), "qdp_rows_out_total", "sim");
    wait_until(
        "full for two seconds",
        Duration::from_secs(10),
        full_for(2.0),
    );
    assert_eq!(
        gauge(&http_get(port, "/metrics"), "qdp_rows_out_total", "sim"),
        held
    );
    assert!(held < ticks as f64);
    repair_target(&s.out);
    assert!(child.wait().unwrap().success());
    assert_exactly_once(&s.out, ticks);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("buffer full") && text.contains("nothing is dropped"),
        "{text}"
    );
    ok(qdp(&s.root)
        .args(["buffer", "verify"])
        .arg(&s.buffer)
        .output()
        .unwrap());
}

#[test]
fn a_flipped_byte_is_reported_and_never_read_past() {
    let ticks = 50_000;
    let s = setup(
        &format!("rate = 0\nmax_ticks = {ticks}"),
        r#"segment_bytes = "64KiB""#,
        None,
    );
    // The sink is down from the start: everything stays in the buffer.
    std::fs::write(&s.out, b"not a directory").unwrap();
    let mut child = start(&s, Stdio::null());
    wait_until(
        "every batch is in the buffer",
        Duration::from_secs(60),
        || s.buffer.join("segments").is_dir() && inspect(&s.buffer)["next_index"] == 100,
    );
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_file(&s.out).unwrap();
    let i = inspect(&s.buffer);
    let victim = &i["segments"][2];
    let seg = PathBuf::from(victim["path"].as_str().unwrap());
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();
    let v = qdp(&s.root)
        .args(["buffer", "verify"])
        .arg(&s.buffer)
        .output()
        .unwrap();
    assert!(!v.status.success());
    let err = String::from_utf8_lossy(&v.stderr);
    let name = seg.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        err.contains("bad record") && err.contains(&name) && err.contains("at byte"),
        "{err}"
    );
    // The runtime delivers what precedes the bad record, then stops with a clear error.
    let run = qdp(&s.root).args(["run", "p.toml"]).output().unwrap();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("corrupt") && err.contains(&name), "{err}");
    let mut seqs = parquet_seqs(&s.out);
    seqs.sort_unstable();
    let first_bad = victim["first"].as_u64().unwrap() * 500;
    assert!(
        seqs.len() as u64 >= first_bad
            && (seqs.len() as u64) < first_bad + 500 * victim["records"].as_u64().unwrap()
    );
    assert_eq!(
        seqs,
        (0..seqs.len() as u64).collect::<Vec<_>>(),
        "no garbage, no gaps, no duplicates"
    );
}
