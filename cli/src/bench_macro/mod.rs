//! `qdp bench macro`: a hundred weekly WPSR releases, each with its faults,
//! through the real batch lane, checked against what was published.
//!
//! A stand-in publisher ([`publisher`]) serves each week's table 1 from its
//! publication time (late for some), answering the first requests after it
//! with 429s and Retry-After, 5xx, hung requests and bodies cut short, and
//! correcting last week's numbers in some. The lane runs as a real `qdp run`
//! process (eia `wpsr_csv` → lake + Postgres warehouse, polled on the
//! `eia_wpsr` release calendar) on a fast-forward clock: wall speed while it
//! works, a jump whenever it waits for the next poll. Some releases kill the
//! process with SIGKILL the moment it has the table; it is started again.
//!
//! Then every week is checked in the warehouse: each number as last
//! published, once; the release recorded in `ops.release_sla`; the table in
//! the lake. A release is loaded right when all of that holds and it landed
//! within two minutes of going out; it is silently wrong when its numbers
//! are not right and nothing (SLA status, alert) said so.

mod child;
mod plan;
mod publisher;
mod tables;
mod verdict;

use crate::demo_macro::{
    connect, examples_dir, pg_error, recreate_database, redact, with_database,
};
use chrono::{Duration as Span, NaiveDate};
use publisher::{Event, Publisher};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The pipeline's name in `ops.release_sla`.
pub const PIPELINE: &str = "bench-macro";
/// The source's id.
pub const SOURCE: &str = "wpsr";

/// What `qdp bench macro` takes.
pub struct Args {
    /// Releases counted (a release 0 before them sets the scene).
    pub releases: usize,
    /// Seed of the faults and the numbers.
    pub seed: u64,
    /// A Postgres the run may create its database on.
    pub admin_url: String,
    /// Give up after this long (wall clock).
    pub limit: Duration,
}

/// Runs the simulation and prints `bench macro ...` last.
pub async fn run(args: Args) -> Result<(), String> {
    let admin = connect(&args.admin_url).await.map_err(|e| {
        format!(
            "bench macro needs Postgres at {}: {e}",
            redact(&args.admin_url)
        )
    })?;
    let db = format!("qdp_bench_macro_{}", std::process::id());
    recreate_database(&admin, &db).await?;
    let warehouse = with_database(&args.admin_url, &db);
    let outcome = simulate(&args, &warehouse).await;
    let drop = format!("drop database if exists {db} with (force)");
    if let Err(e) = admin.batch_execute(&drop).await {
        eprintln!("bench macro: cannot drop {db}: {}", pg_error(&e));
    }
    let line = outcome?;
    println!("{line}");
    Ok(())
}

async fn simulate(args: &Args, warehouse: &str) -> Result<String, String> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let clock = work.path().join("clock");
    let template = tables::Template::load()?;
    let first = NaiveDate::from_ymd_opt(2024, 1, 5).ok_or("first week")?;
    let (releases, counts) = plan::releases(&template, args.releases, args.seed, first);
    let truth = plan::truth(&releases);
    // The run starts just after release 0 went out: it loads that one at
    // once, then waits for release 1.
    let start = releases[0].published + Span::seconds(5);
    let offset = (start - chrono::Utc::now()).num_nanoseconds().unwrap_or(0);
    qdp_core::schedule::fast_forward::write_offset(&clock, offset).map_err(|e| e.to_string())?;

    let (tx, mut events) = mpsc::unbounded_channel();
    let publisher = Publisher::start(releases.clone(), clock.clone(), tx).await?;
    let pipeline = write_pipeline(work.path(), &publisher.base, warehouse)?;
    println!(
        "macro: {} weekly releases from the week ending {}, seed {}; faults (releases with each): {}",
        args.releases,
        releases.get(1).map_or(first, |r| r.period),
        args.seed,
        counts.line()
    );
    let mut proc = child::Child::start(&pipeline, &clock, &work.path().join("qdp.log"))?;
    let db = connect(warehouse).await?;
    let mut rng = StdRng::seed_from_u64(args.seed ^ 0x6b69_6c6c);
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut kills = 0usize;
    let periods: Vec<String> = releases[1..].iter().map(|r| r.period.to_string()).collect();
    let timed_out = loop {
        tokio::select! {
            Some(Event::KillNow(k)) = events.recv() => {
                // Somewhere in the load: parsing, COPY, gold refresh, or after.
                tokio::time::sleep(Duration::from_millis(rng.random_range(0..400))).await;
                proc.kill_and_restart()?;
                kills += 1;
                tracing::info!(release = k, "killed mid-load and started again");
            }
            _ = tokio::time::sleep(Duration::from_millis(250)) => {
                proc.restart_if_exited()?;
                let done = verdict::finished(&db, &periods).await?;
                if done == periods.len() {
                    break false;
                }
                if started.elapsed() > args.limit {
                    break true;
                }
                if last_report.elapsed() > Duration::from_secs(30) {
                    last_report = Instant::now();
                    println!("macro: {done}/{} releases in after {:.0} s", periods.len(), started.elapsed().as_secs_f64());
                }
            }
        }
    };
    proc.stop()?;
    if timed_out {
        println!(
            "macro: stopped after {:.0} s (limit); the last lines of the run:\n{}",
            started.elapsed().as_secs_f64(),
            proc.log_tail(40)
        );
    }
    let v = verdict::check(
        &db,
        &releases,
        &truth,
        &publisher,
        &work.path().join("lake"),
    )
    .await?;
    println!(
        "macro: ran {:.0} s; process killed mid-load {kills} times, {} unexpected exits; {} alerts received; {}/{} tables in the lake",
        started.elapsed().as_secs_f64(),
        proc.unexpected_exits,
        publisher.alerts().len(),
        v.in_lake,
        args.releases
    );
    for problem in &v.problems {
        println!("macro: {problem}");
    }
    if let Some(keep) = std::env::var_os("QDP_BENCH_KEEP_LOG") {
        let _ = std::fs::copy(work.path().join("qdp.log"), keep);
    }
    if !v.problems.is_empty() {
        println!("macro: the last lines of the run:\n{}", proc.log_tail(30));
    }
    Ok(format!(
        "bench macro releases={} loaded_ok={} silently_wrong={} p50_lag_s={:.1} p99_lag_s={:.1}",
        args.releases, v.loaded_ok, v.silently_wrong, v.p50_lag_s, v.p99_lag_s
    ))
}

/// The lane under test: the WPSR table → lake + warehouse, polled on the
/// release calendar every 30 s (then every minute) from the expected time.
fn write_pipeline(dir: &Path, base: &str, warehouse: &str) -> Result<std::path::PathBuf, String> {
    let gold = examples_dir()?.join("warehouse");
    let text = format!(
        r#"[pipeline]
name = "{PIPELINE}"
data_dir = "{data}"
shutdown_timeout = "30s"
alert_webhook = "{base}/alert"

[pipeline.state]
postgres = "{warehouse}"

[sources.{SOURCE}]
type = "eia"
mode = "wpsr_csv"
urls = ["{base}/wpsr/table1.csv"]
min_interval = "200ms"
timeout = "2s"
retry_initial = "500ms"
retry_max = "4s"
max_retries = 8
release_calendar = "eia_wpsr"
poll = {{ every = "30s", max = "1m", give_up_after = "6h" }}
sla = "1h"

[sinks.lake]
type = "lake"
url = "file://{lake}"
inputs = ["{SOURCE}.raw_object"]

[sinks.lake.batch]
max_wait = "100ms"

[sinks.warehouse]
type = "postgres"
url = "{warehouse}"
gold_sql_dir = "{gold}"
inputs = ["{SOURCE}.numeric_economic_data", "{SOURCE}.economic_data_releases", "{SOURCE}.unqualified"]

[sinks.warehouse.batch]
max_wait = "100ms"
"#,
        data = dir.join("state").display(),
        lake = dir.join("lake").display(),
        gold = gold.display(),
    );
    let path = dir.join("bench-macro.toml");
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}
