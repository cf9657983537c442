//! Parallel writers for one sink (`parallelism = N | "auto"`).
//!
//! The batching loop hands each flushed group of batches to the first free
//! writer; each writer owns its own instance of the sink (its own
//! connection) and settles acknowledgements after its own commit, so commits
//! may finish out of order while each source is still acknowledged in order
//! (see [`super::ack`]).
//!
//! With `"auto"`, a controller looks twice a second at two signals:
//! * **backlog**: a flushed group waiting for a free writer. Sustained for a
//!   second, it adds a writer (up to `max`).
//! * **commit latency** (a moving average of write durations). When it has
//!   more than doubled since the last writer was added, the destination, not
//!   qdp, is the limit: one writer is removed and none added for a while.
//!
//! A writer is removed after ten quiet seconds too (down to `min`). Removing
//! one sends it a `Retire` job, so it finishes what it is writing first.
//! The counts are exported as `qdp_sink_workers`, `qdp_sink_backlog_writes`
//! and `qdp_sink_commit_seconds`.

use super::TaskEnv;
use super::envelope::Envelope;
use super::sink::Writer;
use crate::component::DynSink;
use crate::config::Parallelism;
use qdp_sdk::{PluginError, Result};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;
use tokio::time::{Interval, MissedTickBehavior};

const TICK: Duration = Duration::from_millis(500);
/// Ticks of backlog before a writer is added.
const BUSY_TICKS: u32 = 2;
/// Ticks without backlog before a writer is removed.
const QUIET_TICKS: u32 = 20;
/// Ticks without growth after latency showed the destination saturated.
const HOLD_TICKS: u32 = 20;

enum Job {
    Write(Vec<Envelope>),
    Retire,
}

struct Shared {
    rx: Mutex<mpsc::Receiver<Job>>,
    /// Moving average of commit durations, in microseconds.
    ewma_us: AtomicU64,
}

impl Shared {
    fn observe(&self, d: Duration) {
        let x = d.as_micros().min(u64::MAX as u128) as u64;
        let old = self.ewma_us.load(Relaxed);
        let new = if old == 0 { x } else { (old * 4 + x) / 5 };
        self.ewma_us.store(new, Relaxed);
    }
}

/// The writers of one sink and, for `"auto"`, their controller.
pub(super) struct Pool {
    env: TaskEnv,
    tx: mpsc::Sender<Job>,
    shared: Arc<Shared>,
    workers: JoinSet<Result<()>>,
    live: usize,
    min: usize,
    max: usize,
    auto: bool,
    tick: Interval,
    busy: u32,
    quiet: u32,
    hold: u32,
    /// Commit latency when the last writer was added.
    baseline_us: Option<u64>,
}

impl Pool {
    /// Starts the initial writers; `first` is the instance the runtime built.
    pub(super) fn start(env: TaskEnv, first: Box<dyn DynSink>, p: Parallelism) -> Result<Self> {
        let (tx, rx) = mpsc::channel(1);
        let (min, max, auto) = match p {
            Parallelism::Fixed(n) => (n, n, false),
            Parallelism::Auto { min, max } => (min, max, true),
        };
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut pool = Self {
            env: env.clone(),
            tx,
            shared: Arc::new(Shared {
                rx: Mutex::new(rx),
                ewma_us: AtomicU64::new(0),
            }),
            workers: JoinSet::new(),
            live: 0,
            min,
            max,
            auto,
            tick,
            busy: 0,
            quiet: 0,
            hold: 0,
            baseline_us: None,
        };
        pool.spawn(Writer::new(env, first));
        for _ in 1..p.initial() {
            pool.spawn(Writer::fresh(pool.env.clone())?);
        }
        Ok(pool)
    }

    fn spawn(&mut self, w: Writer) {
        let shared = self.shared.clone();
        self.workers.spawn(work(shared, w));
        self.live += 1;
        self.env.metrics.workers.store(self.live as i64, Relaxed);
    }

    /// Hands a group to the first free writer (waits while all are busy).
    pub(super) async fn submit(&mut self, items: Vec<Envelope>) -> Result<()> {
        let m = self.env.metrics.clone();
        m.backlog.fetch_add(1, Relaxed);
        let tx = self.tx.clone();
        let sent = tx.send(Job::Write(items));
        tokio::pin!(sent);
        // A writer that fails while we wait must not leave us waiting forever.
        loop {
            tokio::select! {
                r = &mut sent => {
                    return r.map_err(|_| PluginError::internal("every writer of the sink has stopped"));
                }
                r = self.tend() => r?,
            }
        }
    }

    /// One step of supervision: a controller tick or a writer that ended.
    /// Cancel-safe, so the batching loop can select on it.
    pub(super) async fn tend(&mut self) -> Result<()> {
        tokio::select! {
            _ = self.tick.tick() => {
                if self.auto {
                    self.scale()?;
                }
                Ok(())
            }
            Some(done) = self.workers.join_next() => match done {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e),
                Err(e) => Err(PluginError::internal(format!("a sink writer task died: {e}"))),
            },
        }
    }

    fn scale(&mut self) -> Result<()> {
        let backlog = self.env.metrics.backlog.load(Relaxed);
        let ewma = self.shared.ewma_us.load(Relaxed);
        self.hold = self.hold.saturating_sub(1);
        if backlog > 0 {
            self.busy += 1;
            self.quiet = 0;
        } else {
            self.quiet += 1;
            self.busy = 0;
        }
        let saturated = self
            .baseline_us
            .is_some_and(|b| b > 0 && ewma > b.saturating_mul(2));
        if saturated && self.live > self.min {
            tracing::info!(component = %self.env.config.id, workers = self.live - 1, commit_ms = ewma / 1000, "commits slowed as writers were added; removing one");
            self.retire();
            self.hold = HOLD_TICKS;
            self.baseline_us = None;
        } else if self.busy >= BUSY_TICKS && self.live < self.max && self.hold == 0 {
            self.spawn(Writer::fresh(self.env.clone())?);
            self.baseline_us = Some(ewma);
            self.busy = 0;
            tracing::info!(component = %self.env.config.id, workers = self.live, "writes are queueing; added a writer");
        } else if self.quiet >= QUIET_TICKS && self.live > self.min {
            self.retire();
            self.quiet = 0;
            tracing::info!(component = %self.env.config.id, workers = self.live, "quiet; removed a writer");
        }
        Ok(())
    }

    fn retire(&mut self) {
        // Only when the queue has room: a retire never waits behind data.
        if self.tx.try_send(Job::Retire).is_ok() {
            self.live -= 1;
            self.env.metrics.workers.store(self.live as i64, Relaxed);
        }
    }

    /// Lets the writers finish what was handed to them, then shuts them down.
    pub(super) async fn finish(self) -> Result<()> {
        let Self {
            tx,
            mut workers,
            env,
            ..
        } = self;
        drop(tx);
        let mut first_err = None;
        while let Some(done) = workers.join_next().await {
            let r = match done {
                Ok(r) => r,
                Err(e) => Err(PluginError::internal(format!(
                    "a sink writer task died: {e}"
                ))),
            };
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        }
        env.metrics.workers.store(0, Relaxed);
        first_err.map_or(Ok(()), Err)
    }
}

/// One writer: takes groups until it is retired or the queue closes.
async fn work(shared: Arc<Shared>, mut w: Writer) -> Result<()> {
    loop {
        let job = shared.rx.lock().await.recv().await;
        match job {
            Some(Job::Write(items)) => {
                w.env.metrics.backlog.fetch_sub(1, Relaxed);
                let started = Instant::now();
                w.commit(items).await?;
                shared.observe(started.elapsed());
            }
            Some(Job::Retire) | None => break,
        }
    }
    if let Err(e) = w.sink.shutdown().await {
        tracing::warn!(component = %w.env.config.id, error = %e, "sink shutdown failed");
    }
    Ok(())
}
