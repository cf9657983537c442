//! The scheduler of one batch source: decides when its next pass starts,
//! counts what a pass saw, and records releases (SLA rows, metrics, alerts).
//!
//! The source task ([`crate::runtime`]) asks [`Scheduler::wait`] before each
//! pass, reports each emitted batch to [`Scheduler::observe`], calls
//! [`Scheduler::during_pass`] while polling (so an SLA alarm fires on time
//! even while a pass runs), and [`Scheduler::pass_done`] once the pass has
//! been read and acknowledged.

use super::alert::Alerts;
use super::clock::Clock;
use super::release::Watch;
use super::sla::{SlaRow, SlaStore};
use super::spec::{CronSpec, ReleaseSpec, ScheduleSpec};
use crate::metrics::Metrics;
use crate::runtime::state::StateBackend;
use chrono::{DateTime, Utc};
use qdp_sdk::Result;
use qdp_sdk::arrow::array::RecordBatch;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;

/// What every scheduled source of a pipeline shares.
#[derive(Clone)]
pub struct SchedEnv {
    /// Pipeline name.
    pub pipeline: String,
    /// Where time comes from.
    pub clock: Arc<dyn Clock>,
    /// Checkpoints and marks.
    pub state: Arc<dyn StateBackend>,
    /// Release SLA rows.
    pub sla: Arc<dyn SlaStore>,
    /// The alert webhook.
    pub alerts: Alerts,
    /// Release metrics live here.
    pub metrics: Arc<Metrics>,
    /// `qdp run --once`: one pass per scheduled source, then stop.
    pub once: bool,
    /// OpenLineage events per pass that read something.
    pub lineage: Option<Arc<crate::lineage::PassLineage>>,
}

/// What the source task does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Wake {
    /// Run a pass now.
    Pass,
    /// The pipeline is stopping (or `--once` is done).
    Stop,
}

enum Mode {
    Cron {
        spec: CronSpec,
        next: DateTime<Utc>,
        slot: DateTime<Utc>,
    },
    Release {
        spec: ReleaseSpec,
        watch: Watch,
    },
}

/// The schedule of one source.
pub struct Scheduler {
    env: Arc<SchedEnv>,
    source: String,
    mode: Mode,
    passes: u64,
    /// When the running pass began, and the rows it has emitted so far.
    pass_started: DateTime<Utc>,
    pass_rows: usize,
}

/// The mark holding the last cron time a pass ran for.
const CRON_MARK: &str = "schedule";

async fn stopped(stop: &mut watch::Receiver<Option<Instant>>) {
    if stop.wait_for(|s| s.is_some()).await.is_err() {
        std::future::pending::<()>().await;
    }
}

impl Scheduler {
    /// The scheduler of `source`, resuming from what the stores remember:
    /// a cron time missed while the process was down, or a release due and
    /// never loaded, gets a catch-up pass at once.
    pub async fn new(env: Arc<SchedEnv>, source: &str, spec: &ScheduleSpec) -> Result<Self> {
        let now = env.clock.now();
        let mode = match spec {
            ScheduleSpec::Cron(spec) => {
                let last = env
                    .state
                    .load_mark(source, CRON_MARK)
                    .await?
                    .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.with_timezone(&Utc));
                let due = spec.last_at_or_before(now);
                let (next, slot) = match (last, due) {
                    (None, _) => {
                        tracing::info!(component = source, "first scheduled pass runs now");
                        (now, now)
                    }
                    (Some(l), Some(d)) if d > l => {
                        tracing::info!(component = source, missed = %d, "a scheduled time passed while stopped: one catch-up pass now");
                        (now, d)
                    }
                    _ => {
                        let n = spec.next_after(now).unwrap_or(now);
                        (n, n)
                    }
                };
                Mode::Cron {
                    spec: (**spec).clone(),
                    next,
                    slot,
                }
            }
            ScheduleSpec::Release(spec) => {
                let (period, _) = spec.calendar.last_release(now);
                let done = if env.once {
                    false
                } else {
                    env.sla
                        .find(
                            &env.pipeline,
                            source,
                            spec.calendar.name(),
                            &period.to_string(),
                        )
                        .await?
                        .is_some_and(|r| r.is_loaded())
                };
                let watch = if done {
                    let (p, _) = spec.calendar.next_release(now);
                    Watch::new(spec, p, now)
                } else {
                    tracing::info!(component = source, %period, "the last release is not recorded as loaded: polling for it now");
                    Watch::new(spec, period, now)
                };
                env.metrics
                    .releases
                    .update(source, spec.calendar.name(), |f| {
                        f.status = "waiting".into();
                        f.period = watch.period.to_string();
                    });
                Mode::Release {
                    spec: spec.clone(),
                    watch,
                }
            }
        };
        Ok(Self {
            env,
            source: source.to_string(),
            mode,
            passes: 0,
            pass_started: Utc::now(),
            pass_rows: 0,
        })
    }

    /// The release being watched, for tests and logs.
    pub fn watching(&self) -> Option<&Watch> {
        match &self.mode {
            Mode::Release { watch, .. } => Some(watch),
            Mode::Cron { .. } => None,
        }
    }

    /// Waits until the next pass is due (running SLA alarms and give-ups on
    /// the way), or the pipeline stops.
    pub async fn wait(&mut self, stop: &mut watch::Receiver<Option<Instant>>) -> Result<Wake> {
        if self.env.once {
            return Ok(if self.passes == 0 {
                self.begin_pass();
                Wake::Pass
            } else {
                Wake::Stop
            });
        }
        loop {
            if stop.borrow().is_some() {
                return Ok(Wake::Stop);
            }
            let now = self.env.clock.now();
            let at = match &mut self.mode {
                Mode::Cron { next, .. } => *next,
                Mode::Release { watch, .. } => {
                    if watch.alarm_due(now) {
                        self.alarm().await;
                        continue;
                    }
                    watch.next_wake()
                }
            };
            if now >= at {
                if let Mode::Release { watch, .. } = &mut self.mode {
                    watch.pass_rows = 0;
                }
                self.begin_pass();
                return Ok(Wake::Pass);
            }
            let clock = Arc::clone(&self.env.clock);
            tokio::select! {
                _ = clock.sleep_until(at) => {}
                _ = stopped(stop) => return Ok(Wake::Stop),
            }
        }
    }

    fn begin_pass(&mut self) {
        self.pass_started = self.env.clock.now();
        self.pass_rows = 0;
    }

    /// A batch of the running pass.
    pub fn observe(&mut self, category: &str, port: Option<&str>, data: &RecordBatch) {
        self.pass_rows += data.num_rows();
        if let Mode::Release { watch, .. } = &mut self.mode {
            watch.observe(category, port, data);
        }
    }

    /// Called while a pass runs: sends the late alert when its time comes.
    pub async fn during_pass(&mut self) {
        if let Mode::Release { watch, .. } = &self.mode
            && watch.alarm_due(self.env.clock.now())
        {
            self.alarm().await;
        }
    }

    /// The pass finished reading at `read_done`; every batch was committed
    /// by every sink at `loaded` (`None` when the pipeline stopped first).
    pub async fn pass_done(
        &mut self,
        read_done: DateTime<Utc>,
        loaded: Option<DateTime<Utc>>,
    ) -> Result<()> {
        self.passes += 1;
        let now = self.env.clock.now();
        let env = Arc::clone(&self.env);
        if let Some(lineage) = env.lineage.as_ref().filter(|_| self.pass_rows > 0) {
            lineage
                .pass(
                    &env.pipeline,
                    &self.source,
                    self.pass_started,
                    loaded.is_some(),
                )
                .await;
        }
        match &mut self.mode {
            Mode::Cron { spec, next, slot } => {
                if loaded.is_some() {
                    env.state
                        .save_mark(&self.source, CRON_MARK, &slot.to_rfc3339())
                        .await?;
                }
                let skipped = spec.between(*slot, now, 1000);
                if !skipped.is_empty() {
                    tracing::warn!(component = %self.source, skipped = skipped.len(), first = %skipped[0], schedule = %spec.text, "scheduled times skipped: the pass was still running");
                }
                let n = spec.next_after(now).unwrap_or(now);
                (*next, *slot) = (n, n);
            }
            Mode::Release { spec, watch } => {
                let (spec, calendar) = (spec.clone(), spec.calendar.name());
                watch.polls += 1;
                env.metrics.releases.update(&self.source, calendar, |f| {
                    f.polls_total += 1;
                    f.status = "polling".into();
                });
                match loaded {
                    Some(loaded_at) if watch.pass_rows > 0 => {
                        self.loaded(read_done, loaded_at).await;
                        self.advance(&spec, now);
                    }
                    None if watch.pass_rows > 0 => {}
                    _ if env.once => {}
                    _ if now >= watch.give_up_at => {
                        self.missed().await;
                        self.advance(&spec, now);
                    }
                    _ => watch.back_off(&spec, now),
                }
            }
        }
        Ok(())
    }

    fn advance(&mut self, spec: &ReleaseSpec, now: DateTime<Utc>) {
        if let Mode::Release { watch, .. } = &mut self.mode {
            *watch = watch.following(spec, now);
            tracing::info!(component = %self.source, period = %watch.period, expected = %watch.expected, "next release");
        }
    }

    fn row(&self, status: &str) -> Option<SlaRow> {
        let Mode::Release { spec, watch } = &self.mode else {
            return None;
        };
        Some(SlaRow {
            pipeline: self.env.pipeline.clone(),
            source: self.source.clone(),
            release_calendar: spec.calendar.name().into(),
            period: watch.period.to_string(),
            expected_at: watch.expected,
            first_seen_at: None,
            loaded_at: None,
            rows: 0,
            status: status.into(),
            polls: watch.polls,
        })
    }

    fn alert_doc(&self, event: &str, row: &SlaRow, message: String) -> serde_json::Value {
        json!({
            "event": event,
            "pipeline": row.pipeline,
            "source": row.source,
            "release_calendar": row.release_calendar,
            "period": row.period,
            "expected_at": row.expected_at.to_rfc3339(),
            "loaded_at": row.loaded_at.map(|t| t.to_rfc3339()),
            "polls": row.polls,
            "rows": row.rows,
            "message": message,
        })
    }

    async fn record(&self, row: &SlaRow) {
        if let Err(e) = self.env.sla.record(row).await {
            tracing::error!(component = %self.source, period = %row.period, status = %row.status, error = %e, "cannot record the release SLA row");
        }
        self.env
            .metrics
            .releases
            .update(&self.source, &row.release_calendar, |f| {
                f.status = row.status.clone();
                f.period = row.period.clone();
                if let Some(l) = row.loaded_at {
                    f.delay_seconds = Some((l - row.expected_at).as_seconds_f64());
                }
            });
    }

    /// The SLA passed before the release was loaded.
    async fn alarm(&mut self) {
        let Some(row) = self.row("late") else { return };
        if let Mode::Release { watch, .. } = &mut self.mode {
            watch.alerted = true;
        }
        self.record(&row).await;
        let msg = format!(
            "{} release {} for period {} (expected {}) is not loaded yet and is past its SLA",
            row.release_calendar, row.source, row.period, row.expected_at
        );
        self.env
            .alerts
            .send(self.alert_doc("release_late", &row, msg))
            .await;
    }

    async fn loaded(&mut self, first_seen: DateTime<Utc>, loaded_at: DateTime<Utc>) {
        let Mode::Release { watch, .. } = &self.mode else {
            return;
        };
        let late = watch.sla_at.is_some_and(|t| loaded_at > t);
        let rows = watch.pass_rows;
        let Some(mut row) = self.row(if late { "late" } else { "loaded" }) else {
            return;
        };
        row.first_seen_at = Some(first_seen);
        row.loaded_at = Some(loaded_at);
        row.rows = rows;
        tracing::info!(component = %self.source, period = %row.period, status = %row.status, rows, polls = row.polls, delay_s = (loaded_at - row.expected_at).as_seconds_f64(), "release loaded");
        self.record(&row).await;
        if late {
            let msg = format!(
                "{} release {} for period {} loaded late: expected {}, loaded {}",
                row.release_calendar, row.source, row.period, row.expected_at, loaded_at
            );
            self.env
                .alerts
                .send(self.alert_doc("release_loaded_late", &row, msg))
                .await;
        }
    }

    async fn missed(&mut self) {
        let Some(row) = self.row("missed") else {
            return;
        };
        self.record(&row).await;
        let msg = format!(
            "{} release {} for period {} (expected {}) was not seen after {} polls; given up",
            row.release_calendar, row.source, row.period, row.expected_at, row.polls
        );
        self.env
            .alerts
            .send(self.alert_doc("release_missed", &row, msg))
            .await;
    }
}
