//! Scheduled batch sources, end to end on a test clock: release calendars
//! polled with backoff until the release is seen, SLA rows (file and a
//! throwaway Postgres database), webhook alerts received by a real HTTP
//! server, give-up, cron passes with skips and catch-up, `--once`, and the
//! Postgres state store with resume after a restart.
//!
//! The clock only moves when a test moves it, and a test only moves it to
//! the moment the scheduler is asleep until: no sleeps, no timings.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod schedule_support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qdp_core::schedule::TestClock;
use qdp_core::schedule::postgres::PgOps;
use qdp_core::schedule::sla::{FileSlaStore, SlaRow, SlaStore};
use qdp_core::{Metrics, Pipeline, RunReport};
use schedule_support::*;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The WPSR of the week ending 2026-04-24 comes out 2026-04-29 10:30 EDT.
fn expected() -> DateTime<Utc> {
    utc("2026-04-29T14:30:00Z")
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Utc::now().timestamp_nanos_opt().unwrap_or(0))
}

struct Running {
    handle: JoinHandle<Result<RunReport, qdp_core::Error>>,
    stop: oneshot::Sender<()>,
    metrics: Arc<Metrics>,
}

impl Running {
    async fn stop(self) -> RunReport {
        let _ = self.stop.send(());
        self.handle.await.unwrap().unwrap()
    }
}

async fn start(text: &str, clock: &TestClock, once: bool) -> Running {
    let p = Pipeline::from_toml_str("schedule.toml", text, registry())
        .await
        .unwrap()
        .with_clock(Arc::new(clock.clone()))
        .once(once);
    let metrics = p.metrics();
    let (stop, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(p.run_until(async move {
        let _ = rx.await;
    }));
    Running {
        handle,
        stop,
        metrics,
    }
}

/// A WPSR pipeline: the test source on the calendar into the row sink.
fn release_pipeline(
    dir: &std::path::Path,
    tag: &str,
    pipeline_extra: &str,
    source_extra: &str,
    old_passes: usize,
) -> String {
    format!(
        r#"
[pipeline]
name = "wpsr"
data_dir = "{dir}"
{pipeline_extra}

[sources.wpsr]
type = "test_release"
tag = "{tag}"
old_period = "2026-04-17"
new_period = "2026-04-24"
old_passes = {old_passes}
release_calendar = "eia_wpsr"
{source_extra}

[sinks.db]
type = "test_rows"
inputs = ["wpsr.numeric_economic_data"]
tag = "{tag}"
batch = {{ max_wait = "10ms" }}
"#,
        dir = dir.display()
    )
}

/// The release of the week before is already loaded: no catch-up.
fn previous_loaded() -> SlaRow {
    SlaRow {
        pipeline: "wpsr".into(),
        source: "wpsr".into(),
        release_calendar: "eia_wpsr".into(),
        period: "2026-04-17".into(),
        expected_at: utc("2026-04-22T14:30:00Z"),
        first_seen_at: Some(utc("2026-04-22T14:31:00Z")),
        loaded_at: Some(utc("2026-04-22T14:31:00Z")),
        rows: 3,
        status: "loaded".into(),
        polls: 1,
    }
}

/// Four passes still see the old week; the release is past its 5-minute
/// SLA before the fifth pass loads it: an alert at T+5m, before the load,
/// then a loaded-late alert; the wait doubles from 1m and stops at 4m.
async fn late_release(sla: Arc<dyn SlaStore>, state: &str, dir: &std::path::Path) {
    let tag = unique("late");
    let t = expected();
    let clock = TestClock::new(utc("2026-04-29T14:00:00Z"));
    let (hook, mut posts) = webhook(clock.clone()).await;
    sla.record(&previous_loaded()).await.unwrap();
    let text = release_pipeline(
        dir,
        &tag,
        &format!("alert_webhook = \"{hook}\"\n{state}"),
        "poll = { every = \"1m\", max = \"4m\", give_up_after = \"1h\" }\nsla = \"5m\"",
        4,
    );
    let run = start(&text, &clock, false).await;
    let mut deadlines = Vec::new();
    for _ in 0..6 {
        deadlines.push(clock.advance_to_next().await);
    }
    let m = |n: i64| t + Duration::minutes(n);
    assert_eq!(deadlines, [m(0), m(1), m(3), m(5), m(7), m(11)]);
    // After the load the scheduler waits for the next week's release.
    assert_eq!(clock.next_deadline().await, utc("2026-05-06T14:30:00Z"));

    let late = posts.recv().await.unwrap();
    assert_eq!(late.body["event"], "release_late");
    assert_eq!(late.at, m(5), "the alert fires when the SLA passes");
    assert_eq!(late.body["period"], "2026-04-24");
    assert!(late.body["loaded_at"].is_null(), "sent before the load");
    let loaded = posts.recv().await.unwrap();
    assert_eq!(loaded.body["event"], "release_loaded_late");
    assert_eq!(loaded.at, m(11));
    assert_eq!(loaded.body["loaded_at"], m(11).to_rfc3339());
    assert!(posts.try_recv().is_err(), "two alerts, no more");

    let row = sla
        .find("wpsr", "wpsr", "eia_wpsr", "2026-04-24")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "late");
    assert_eq!(row.polls, 5);
    assert_eq!(row.rows, 3);
    assert_eq!(row.expected_at, t);
    assert_eq!(row.first_seen_at, Some(m(11)));
    assert_eq!(row.loaded_at, Some(m(11)));

    let seen = seen(&tag);
    assert_eq!(seen.starts.len(), 5, "one start per pass");
    assert_eq!(seen.starts[0], None);
    assert!(
        seen.starts[1..]
            .iter()
            .all(|c| c.as_deref() == Some("2026-04-17")),
        "every later pass starts from the stored checkpoint: {:?}",
        seen.starts
    );
    assert_eq!(seen.committed.iter().sum::<usize>(), 15);

    let figures = run.metrics.releases.get("wpsr", "eia_wpsr").unwrap();
    assert_eq!(figures.polls_total, 5);
    assert_eq!(figures.delay_seconds, Some(660.0));
    let text = run.metrics.render_prometheus("wpsr");
    assert!(text.contains(
        "qdp_release_delay_seconds{pipeline=\"wpsr\",source=\"wpsr\",calendar=\"eia_wpsr\"} 660"
    ));
    assert!(text.contains(
        "qdp_release_polls_total{pipeline=\"wpsr\",source=\"wpsr\",calendar=\"eia_wpsr\"} 5"
    ));
    assert!(text.contains("status=\"late\"} 1"));
    let report = run.stop().await;
    assert_eq!(report.unacknowledged_batches, 0);
}

#[tokio::test]
async fn a_late_release_alerts_at_the_sla_then_loads_late_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let sla = Arc::new(FileSlaStore::new(dir.path()));
    late_release(sla.clone(), "", dir.path()).await;
    // The JSON lines file keeps the history: seeded, late at T+5m, late with the load.
    let rows = sla.rows().unwrap();
    let statuses: Vec<(&str, &str, bool)> = rows
        .iter()
        .map(|r| (r.period.as_str(), r.status.as_str(), r.loaded_at.is_some()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("2026-04-17", "loaded", true),
            ("2026-04-24", "late", false),
            ("2026-04-24", "late", true)
        ]
    );
}

#[tokio::test]
async fn a_late_release_alerts_at_the_sla_then_loads_late_postgres() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pg = Arc::new(PgOps::connect(&db.url, "wpsr", "ops").await.unwrap());
    late_release(
        pg,
        &format!("state = {{ postgres = \"{}\" }}", db.url),
        dir.path(),
    )
    .await;
    let c = db.client().await;
    let n: i64 = c
        .query_one(
            "select count(*) from ops.release_sla where status = 'late' and loaded_at is not null",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "one row per release, upserted");
    let ck: Vec<u8> = c
        .query_one(
            "select checkpoint from ops.source_checkpoint where pipeline = 'wpsr' and source = 'wpsr'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(ck, b"2026-04-24");
    assert!(
        !dir.path().join("state").exists(),
        "checkpoints went to Postgres, not to files"
    );
    drop(c);
    db.drop_now().await;
}

#[tokio::test]
async fn a_release_never_seen_is_missed_after_give_up() {
    let dir = tempfile::tempdir().unwrap();
    let tag = unique("missed");
    let clock = TestClock::new(utc("2026-04-29T14:00:00Z"));
    let (hook, mut posts) = webhook(clock.clone()).await;
    let sla = FileSlaStore::new(dir.path());
    sla.record(&previous_loaded()).await.unwrap();
    let text = release_pipeline(
        dir.path(),
        &tag,
        &format!("alert_webhook = \"{hook}\""),
        "poll = { every = \"1m\", max = \"10m\", give_up_after = \"10m\" }",
        1000,
    );
    let run = start(&text, &clock, false).await;
    let mut deadlines = Vec::new();
    for _ in 0..5 {
        deadlines.push(clock.advance_to_next().await);
    }
    let t = expected();
    let m = |n: i64| t + Duration::minutes(n);
    // 1, 2, 4 minutes, then the last poll at the give-up time.
    assert_eq!(deadlines, [m(0), m(1), m(3), m(7), m(10)]);
    assert_eq!(clock.next_deadline().await, utc("2026-05-06T14:30:00Z"));
    let missed = posts.recv().await.unwrap();
    assert_eq!(missed.body["event"], "release_missed");
    assert_eq!(missed.body["polls"], 5);
    let row = sla
        .find("wpsr", "wpsr", "eia_wpsr", "2026-04-24")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.status.as_str(), row.polls), ("missed", 5));
    assert_eq!((row.first_seen_at, row.loaded_at), (None, None));
    let figures = run.metrics.releases.get("wpsr", "eia_wpsr").unwrap();
    assert_eq!(figures.status, "missed");
    assert_eq!(seen(&tag).starts.len(), 5);
    run.stop().await;
}

/// Started after the release time with nothing recorded: the current
/// release is loaded at once (catch-up). The checkpoint and the SLA row go
/// to Postgres; after a restart the release counts as loaded, no catch-up
/// runs, and the next pass starts from the checkpoint stored there.
#[tokio::test]
async fn postgres_state_survives_a_restart() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let pg = PgOps::connect(&db.url, "suite", "ops").await.unwrap();
    qdp_core::runtime::state::check_backend(&pg, "src")
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let tag = unique("resume");
    let clock = TestClock::new(utc("2026-04-29T15:00:00Z"));
    let state = format!("state = {{ postgres = \"{}\" }}", db.url);
    let text = release_pipeline(dir.path(), &tag, &state, "", 0);
    let run = start(&text, &clock, false).await;
    let next_week = utc("2026-05-06T14:30:00Z");
    assert_eq!(clock.next_deadline().await, next_week);
    assert_eq!(seen(&tag).starts, [None], "one catch-up pass at startup");
    run.stop().await;
    let row = pg
        .find("wpsr", "wpsr", "eia_wpsr", "2026-04-24")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "loaded");
    assert_eq!(row.polls, 1);
    assert_eq!(row.loaded_at, Some(utc("2026-04-29T15:00:00Z")));

    let run = start(&text, &clock, false).await;
    assert_eq!(
        clock.advance_to_next().await,
        next_week,
        "no catch-up after a restart"
    );
    // The pass at 05-06 still sees the week of 04-24: the next poll is a minute later.
    assert_eq!(
        clock.next_deadline().await,
        next_week + Duration::minutes(1)
    );
    let starts = seen(&tag).starts;
    assert_eq!(starts.len(), 2);
    assert_eq!(
        starts[1].as_deref(),
        Some("2026-04-24"),
        "resumed from Postgres"
    );
    run.stop().await;
    drop(pg);
    db.drop_now().await;
}

fn cron_pipeline(dir: &std::path::Path, tag: &str, pass_secs: i64) -> String {
    format!(
        r#"
[pipeline]
name = "cron"
data_dir = "{dir}"

[sources.files]
type = "test_release"
tag = "{tag}"
old_period = "2026-04-17"
new_period = "2026-04-24"
old_passes = 0
pass_secs = {pass_secs}
schedule = "0 */5 * * * *"
timezone = "America/New_York"

[sinks.db]
type = "test_rows"
inputs = ["files.numeric_economic_data"]
tag = "{tag}"
batch = {{ max_wait = "10ms" }}
"#,
        dir = dir.display()
    )
}

/// A pass at every cron time; a first start runs at once; a time missed
/// while stopped gets one catch-up pass; times that come while a pass runs
/// are skipped.
#[tokio::test]
async fn cron_passes_catch_up_and_skips() {
    let dir = tempfile::tempdir().unwrap();
    let tag = unique("cron");
    let clock = TestClock::new(utc("2026-04-29T12:02:30Z"));
    CLOCKS.lock().unwrap().insert(tag.clone(), clock.clone());
    let at = |h: u32, m: u32| Utc.with_ymd_and_hms(2026, 4, 29, h, m, 0).unwrap();

    let run = start(&cron_pipeline(dir.path(), &tag, 0), &clock, false).await;
    assert_eq!(clock.advance_to_next().await, at(12, 5));
    assert_eq!(clock.advance_to_next().await, at(12, 10));
    assert_eq!(clock.next_deadline().await, at(12, 15));
    assert_eq!(seen(&tag).starts.len(), 3, "at start, 12:05 and 12:10");
    run.stop().await;

    // Down from 12:10 to 12:31: the 12:15..12:30 times get one pass.
    clock.set(at(12, 31));
    let run = start(&cron_pipeline(dir.path(), &tag, 0), &clock, false).await;
    assert_eq!(clock.next_deadline().await, at(12, 35));
    assert_eq!(seen(&tag).starts.len(), 4, "one catch-up pass");
    run.stop().await;

    // A pass that takes 11 minutes: 12:40 and 12:45 are skipped.
    let run = start(&cron_pipeline(dir.path(), &tag, 660), &clock, false).await;
    assert_eq!(clock.advance_to_next().await, at(12, 35));
    assert_eq!(clock.next_deadline().await, at(12, 50));
    assert_eq!(seen(&tag).starts.len(), 5);
    run.stop().await;
    assert_eq!(seen(&tag).committed.iter().sum::<usize>(), 15);
}

/// `--once`: one pass of every scheduled source, then the run ends by itself.
#[tokio::test]
async fn once_runs_one_pass_and_ends() {
    let dir = tempfile::tempdir().unwrap();
    let tag = unique("once");
    let clock = TestClock::new(utc("2026-04-30T09:00:00Z"));
    let text = release_pipeline(dir.path(), &tag, "", "sla = \"1h\"", 0);
    let run = start(&text, &clock, true).await;
    let report = run.handle.await.unwrap().unwrap();
    assert_eq!(report.exhausted_sources, ["wpsr"]);
    assert_eq!(report.unacknowledged_batches, 0);
    assert_eq!(seen(&tag).starts.len(), 1);
    assert_eq!(seen(&tag).committed.iter().sum::<usize>(), 3);
    let row = FileSlaStore::new(dir.path())
        .find("wpsr", "wpsr", "eia_wpsr", "2026-04-24")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "late", "seen 18.5 hours after the release");
    drop(run.stop);
}

/// The warehouse may already hold an `ops.release_sla` of another layout
/// (the Postgres sink's per-edition table): the runtime says so and which
/// key to set, and works in the schema it is given.
#[tokio::test]
async fn an_ops_table_of_another_layout_is_named_and_avoided() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let c = db.client().await;
    c.batch_execute(
        "create schema ops; create table ops.release_sla (source_system_name text, release_code text, release_time timestamptz)",
    )
    .await
    .unwrap();
    let err = PgOps::connect(&db.url, "wpsr", "ops").await.unwrap_err();
    assert!(err.to_string().contains("[pipeline.state] schema"), "{err}");
    let pg = PgOps::connect(&db.url, "wpsr", "qdp_ops").await.unwrap();
    pg.record(&previous_loaded()).await.unwrap();
    let n: i64 = c
        .query_one("select count(*) from qdp_ops.release_sla", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    drop((c, pg));
    db.drop_now().await;
}
