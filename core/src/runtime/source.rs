//! The task that drives one source: poll, number, fan out, acknowledge.
//!
//! A source with a schedule (`schedule` or `release_calendar`) runs in
//! passes: when it ends a pass (`next_batch` returns `None`) the task waits
//! until every batch of the pass is committed, tells its
//! [`Scheduler`](crate::schedule::Scheduler), and builds a new instance for
//! the next pass, started from the stored checkpoint. Such a task only ends
//! when the pipeline stops (or after one pass with `--once`), so the
//! pipeline stays up. Sources without a schedule run as before.

use super::TaskEnv;
use super::ack::{AckEvent, AckRef, Tracker};
use super::envelope::{Envelope, send_all};
use super::state::StateBackend;
use super::supervise::{Action, Supervisor};
use crate::component::{DynSource, Instance};
use crate::metrics::State;
use crate::schedule::{Scheduler, Wake};
use qdp_sdk::ffi::host::Polled;
use qdp_sdk::{Batch, BatchMeta, Checkpoint, OutputDecl, PluginError, Result};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{self, UnboundedReceiver};

/// The port a source emits `category` on: the one it declared for it
/// (`None`, the main output, unless the source gave the category a port).
fn port_of(declared: &[OutputDecl], category: &str) -> Option<String> {
    declared
        .iter()
        .find(|d| d.category == category)
        .and_then(|d| d.port.clone())
}

const POLL_TIMEOUT: Duration = Duration::from_millis(200);

/// Batch numbers reserved at a time for sources that cannot replay.
const RESERVE: u64 = 1024;

/// Hands out batch numbers. A source that replays deterministically
/// restarts right after its acknowledged batch, so a replayed batch keeps its
/// number and sinks recognise it. Any other source restarts after every
/// number it ever reserved, so new data never takes a number a sink has seen.
struct Numbers {
    replayable: bool,
    /// First number not reserved (unused when replayable).
    reserved: u64,
}

impl Numbers {
    fn first_after_restart(&self, acked: Option<u64>) -> u64 {
        let after_ack = acked.map_or(0, |s| s + 1);
        if self.replayable {
            after_ack
        } else {
            after_ack.max(self.reserved)
        }
    }

    async fn take(&mut self, seq: u64, store: &dyn StateBackend, id: &str) -> Result<()> {
        if !self.replayable && seq >= self.reserved {
            let upto = (seq + RESERVE).to_string();
            store.save_mark(id, RESERVED_MARK, &upto).await?;
            self.reserved = seq + RESERVE;
        }
        Ok(())
    }
}

/// The state mark holding a source's batch number reservation.
const RESERVED_MARK: &str = "reserved";

async fn load_reserved(store: &dyn StateBackend, id: &str) -> Result<Option<u64>> {
    match store.load_mark(id, RESERVED_MARK).await? {
        None => Ok(None),
        Some(t) => t.trim().parse().map(Some).map_err(|_| {
            PluginError::internal(format!("batch number reservation holds `{}`", t.trim()))
                .with_context("component", id)
        }),
    }
}

/// What a source task reports when it ends.
#[derive(Debug, Default)]
pub struct SourceOutcome {
    /// The source ran out of data by itself.
    pub exhausted: bool,
    /// Batches emitted but never committed downstream (replayed next run).
    pub unacknowledged: usize,
}

struct Run {
    env: TaskEnv,
    store: Arc<dyn StateBackend>,
    tracker: Tracker,
    acks: UnboundedReceiver<AckEvent>,
    acked: Option<(u64, Checkpoint)>,
}

impl Run {
    fn new_source(&self) -> Result<Box<dyn DynSource>> {
        match self
            .env
            .ty
            .instantiate(&self.env.config.options, &self.env.context)?
        {
            Instance::Source(s) => Ok(s),
            _ => Err(PluginError::internal("component is not a source")),
        }
    }

    /// Applies settled outcomes; stores and forwards the newest ackable checkpoint.
    async fn apply_acks(&mut self, source: &mut dyn DynSource) -> Result<()> {
        while let Ok(ev) = self.acks.try_recv() {
            self.tracker.record(ev);
        }
        if let Some((seq, ck)) = self.tracker.take_ackable() {
            self.store.save(&self.env.config.id, seq, &ck).await?;
            // The store holds the checkpoint now; a source that fails to
            // commit its own cursor will only replay more next time.
            if let Err(e) = source.ack(ck.clone()).await {
                tracing::warn!(component = %self.env.config.id, error = %e, "source ack failed");
            }
            self.acked = Some((seq, ck));
        }
        Ok(())
    }

    /// Waits until every emitted batch is settled (or the deadline passes).
    async fn drain(&mut self, source: &mut dyn DynSource) -> Result<()> {
        while self.tracker.outstanding() > 0 {
            let deadline = self.env.shutdown_deadline();
            tokio::select! {
                ev = self.acks.recv() => match ev {
                    Some(ev) => self.tracker.record(ev),
                    None => break,
                },
                _ = sleep_until(deadline) => {
                    tracing::warn!(component = %self.env.config.id, outstanding = self.tracker.outstanding(), "shutdown deadline passed with batches not yet committed; they will be replayed");
                    break;
                }
            }
            self.apply_acks(source).await?;
        }
        self.apply_acks(source).await
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// Runs a source until it is exhausted or the pipeline stops; a scheduled
/// source runs pass after pass until the pipeline stops.
pub async fn run_source(
    env: TaskEnv,
    first: Box<dyn DynSource>,
    declared: Vec<OutputDecl>,
    outputs: super::transform::Routes,
) -> Result<SourceOutcome> {
    let store = Arc::clone(&env.sched.state);
    let acked = store.load(&env.config.id).await?;
    let (tx, acks) = mpsc::unbounded_channel();
    let mut run = Run {
        env,
        store,
        tracker: Tracker::default(),
        acks,
        acked,
    };
    let id = run.env.config.id.clone();
    let m = run.env.metrics.clone();
    let mut sup = Supervisor::new(&id, run.env.config.restart.clone(), m.clone());
    let mut source = first;
    let replayable = run.env.ty.capabilities & qdp_sdk::capabilities::DETERMINISTIC_REPLAY != 0;
    let mut numbers = Numbers {
        replayable,
        reserved: if replayable {
            0
        } else {
            load_reserved(run.store.as_ref(), &id).await?.unwrap_or(0)
        },
    };
    let mut next_seq = numbers.first_after_restart(run.acked.as_ref().map(|(s, _)| *s));
    let mut sched = match &run.env.config.schedule {
        Some(spec) => {
            if run.env.ty.capabilities & qdp_sdk::capabilities::FINITE == 0 {
                tracing::warn!(component = %id, "scheduled source does not declare FINITE: a pass ends only when it runs out of data");
            }
            Some(Scheduler::new(Arc::clone(&run.env.sched), &id, spec).await?)
        }
        None => None,
    };
    let mut stop = run.env.stop.clone();
    let mut started = false;
    let mut exhausted = false;
    m.set_state(State::Starting);
    while !run.env.stopping() {
        if !started {
            if let Some(s) = sched.as_mut() {
                m.set_state(State::Running);
                if s.wait(&mut stop).await? == Wake::Stop {
                    exhausted = run.env.sched.once;
                    break;
                }
                tracing::info!(component = %id, "scheduled pass starts");
            }
            match source
                .start(run.acked.as_ref().map(|(_, c)| c.clone()))
                .await
            {
                Ok(()) => {
                    started = true;
                    m.set_state(State::Running);
                    tracing::info!(component = %id, resume_seq = next_seq, "source started");
                }
                Err(e) => {
                    if sup.failed(&e).await? == Action::Recreate {
                        source = run.new_source()?;
                    }
                    continue;
                }
            }
        }
        run.apply_acks(source.as_mut()).await?;
        if let Some(s) = sched.as_mut() {
            s.during_pass().await;
        }
        let polled = source.poll(POLL_TIMEOUT).await.and_then(|p| match p {
            Polled::Batch(b) => {
                let port = port_of(&declared, &b.category);
                super::conform::check(&id, &declared, port.as_deref(), &b.category, &b.data)?;
                super::conform::positions(&id, &b.positions, &b.data)?;
                Ok(Polled::Batch(b))
            }
            other => Ok(other),
        });
        match polled {
            Ok(Polled::Batch(b)) => {
                sup.succeeded();
                let seq = next_seq;
                numbers.take(seq, run.store.as_ref(), &id).await?;
                next_seq += 1;
                run.tracker.emitted(seq);
                let rows = b.data.num_rows() as u64;
                m.rows_out.fetch_add(rows, Relaxed);
                m.bytes_out
                    .fetch_add(b.data.get_array_memory_size() as u64, Relaxed);
                m.batches_out.fetch_add(1, Relaxed);
                let port = port_of(&declared, &b.category);
                run.env
                    .reconcile
                    .source_emitted(&id, &port, &b.category, rows);
                if let Some(s) = sched.as_mut() {
                    s.observe(&b.category, port.as_deref(), &b.data);
                }
                let env = Envelope {
                    acks: vec![AckRef::new(seq, b.checkpoint, tx.clone())],
                    batch: Batch {
                        data: b.data,
                        meta: BatchMeta {
                            category: b.category,
                            source_system: b.source_system,
                            origin: id.clone(),
                            producer: id.clone(),
                            seq,
                            replayable,
                            positions: b.positions,
                        },
                    },
                    received: Instant::now(),
                    port: port.clone(),
                };
                match outputs.get(&port) {
                    Some(targets) if !targets.is_empty() => {
                        if !send_all(targets, env).await {
                            return Err(PluginError::internal("a downstream component stopped")
                                .with_context("component", &id));
                        }
                    }
                    _ => {
                        // Declared as a warning by the planner; counted here.
                        m.rows_unread.fetch_add(rows, Relaxed);
                        env.settle();
                    }
                }
            }
            Ok(Polled::Pending) => sup.succeeded(),
            Ok(Polled::End) => {
                let Some(s) = sched.as_mut() else {
                    exhausted = true;
                    tracing::info!(component = %id, batches = next_seq, "source exhausted");
                    break;
                };
                let clock = Arc::clone(&run.env.sched.clock);
                let read_done = clock.now();
                run.drain(source.as_mut()).await?;
                let committed = run.tracker.outstanding() == 0 && !run.tracker.has_failures();
                let loaded = committed.then(|| clock.now());
                tracing::info!(component = %id, committed, batches = next_seq, "scheduled pass done");
                s.pass_done(read_done, loaded).await?;
                // The next pass runs on a fresh instance from the stored checkpoint.
                if let Err(e) = source.shutdown().await {
                    tracing::warn!(component = %id, error = %e, "source shutdown failed");
                }
                drop(source);
                source = run.new_source()?;
                next_seq = numbers.first_after_restart(run.acked.as_ref().map(|(s, _)| *s));
                started = false;
            }
            Err(e) => {
                if sup.failed(&e).await? == Action::Recreate {
                    // Let what is in flight settle, then resume from the last
                    // acknowledged checkpoint with matching batch numbers.
                    run.drain(source.as_mut()).await?;
                    drop(source);
                    source = run.new_source()?;
                    next_seq = numbers.first_after_restart(run.acked.as_ref().map(|(s, _)| *s));
                    started = false;
                }
            }
        }
    }
    drop(outputs);
    drop(tx);
    run.drain(source.as_mut()).await?;
    let unacknowledged = run.tracker.outstanding();
    if let Err(e) = source.shutdown().await {
        tracing::warn!(component = %id, error = %e, "source shutdown failed");
    }
    m.set_state(State::Stopped);
    Ok(SourceOutcome {
        exhausted,
        unacknowledged,
    })
}
