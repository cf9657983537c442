//! The task that drives one sink: batch by rows, bytes and time, write with
//! retries, and settle acknowledgements only after a durable commit.
//!
//! With `parallelism` above one, flushed groups go to a [`pool`] of writers
//! instead of being written inline.

use super::TaskEnv;
use super::envelope::Envelope;
use super::pool::Pool;
use super::supervise::{Action, Supervisor};
use crate::component::{DynSink, Instance};
use crate::config::Parallelism;
use crate::metrics::State;
use qdp_sdk::{PluginError, Result};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;
use tokio::sync::mpsc::Receiver;
use tokio::task::JoinHandle;

struct Pending {
    items: Vec<Envelope>,
    rows: usize,
    bytes: usize,
    since: Option<Instant>,
}

impl Pending {
    fn take(&mut self) -> Vec<Envelope> {
        self.rows = 0;
        self.bytes = 0;
        self.since = None;
        std::mem::take(&mut self.items)
    }
}

/// One instance of the sink and its retry state.
pub(super) struct Writer {
    pub(super) env: TaskEnv,
    pub(super) sink: Box<dyn DynSink>,
    sup: Supervisor,
    opened: bool,
}

impl Writer {
    pub(super) fn new(env: TaskEnv, sink: Box<dyn DynSink>) -> Self {
        let sup = Supervisor::new(
            &env.config.id,
            env.config.restart.clone(),
            env.metrics.clone(),
        );
        Self {
            env,
            sink,
            sup,
            opened: false,
        }
    }

    /// A writer with a fresh instance of the sink.
    pub(super) fn fresh(env: TaskEnv) -> Result<Self> {
        let sink = Self::instantiate(&env)?;
        Ok(Self::new(env, sink))
    }

    fn instantiate(env: &TaskEnv) -> Result<Box<dyn DynSink>> {
        match env.ty.instantiate(&env.config.options, &env.context)? {
            Instance::Sink(s) => Ok(s),
            _ => Err(PluginError::internal("component is not a sink")),
        }
    }

    /// Opens (once) and writes; retries until it works, the restart budget
    /// is spent (`Err`), or the shutdown deadline passes (`Ok(false)`).
    async fn write(&mut self, items: &[Envelope]) -> Result<bool> {
        let batches: Vec<_> = items.iter().map(|e| e.batch.clone()).collect();
        loop {
            if self.env.deadline_passed() {
                return Ok(false);
            }
            let r = if self.opened {
                Ok(())
            } else {
                self.sink.open().await
            };
            let r = match r {
                Ok(()) => {
                    self.opened = true;
                    self.sink.write(batches.clone()).await
                }
                Err(e) => Err(e),
            };
            match r {
                Ok(()) => {
                    self.sup.succeeded();
                    return Ok(true);
                }
                Err(e) => {
                    if self.sup.failed(&e).await? == Action::Recreate {
                        self.sink = Self::instantiate(&self.env)?;
                        self.opened = false;
                    }
                }
            }
        }
    }

    /// Writes `items` durably, then counts them and settles their acknowledgements.
    pub(super) async fn commit(&mut self, items: Vec<Envelope>) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let rows: usize = items.iter().map(|e| e.batch.data.num_rows()).sum();
        let bytes: usize = items.iter().map(Envelope::bytes).sum();
        let started = Instant::now();
        if !self.write(&items).await? {
            tracing::warn!(component = %self.env.config.id, rows, "shutdown deadline passed before the write succeeded; rows stay unacknowledged and will be replayed");
            return Ok(());
        }
        let m = &self.env.metrics;
        m.commit_latency.record_n(started.elapsed(), 1);
        m.rows_out.fetch_add(rows as u64, Relaxed);
        m.bytes_out.fetch_add(bytes as u64, Relaxed);
        m.batches_out.fetch_add(items.len() as u64, Relaxed);
        let now = Instant::now();
        for e in items {
            m.latency.record_n(
                now.saturating_duration_since(e.received),
                e.batch.data.num_rows() as u64,
            );
            e.settle();
        }
        Ok(())
    }
}

/// One writer, one write at a time, in order, while the next group gathers.
///
/// The batching loop keeps receiving while a write is in flight, so the
/// next group is ready (and, under load, larger) when the write returns,
/// instead of the producer stalling on a full channel behind it. A flush
/// first waits for the write before it, so groups are written and
/// acknowledged in the order they were flushed.
struct Inline {
    idle: Option<Writer>,
    busy: Option<JoinHandle<(Writer, Result<()>)>>,
}

impl Inline {
    /// Waits for the write in flight, if any. Cancel-safe: the handle stays
    /// in place until the write has finished.
    async fn settle(&mut self) -> Result<()> {
        let Some(handle) = self.busy.as_mut() else {
            return Ok(());
        };
        let joined = handle.await;
        self.busy = None;
        let (writer, result) =
            joined.map_err(|e| PluginError::internal(format!("sink write task failed: {e}")))?;
        self.idle = Some(writer);
        result
    }

    async fn submit(&mut self, items: Vec<Envelope>) -> Result<()> {
        self.settle().await?;
        let mut writer = self
            .idle
            .take()
            .ok_or_else(|| PluginError::internal("the sink's writer was lost"))?;
        self.busy = Some(tokio::spawn(async move {
            let result = writer.commit(items).await;
            (writer, result)
        }));
        Ok(())
    }
}

/// Where flushed groups go: written inline, or handed to parallel writers.
enum Dispatch {
    Inline(Inline),
    Pool(Pool),
}

impl Dispatch {
    async fn flush(&mut self, p: &mut Pending) -> Result<()> {
        if p.items.is_empty() {
            return Ok(());
        }
        let items = p.take();
        match self {
            Dispatch::Inline(w) => w.submit(items).await,
            Dispatch::Pool(pool) => pool.submit(items).await,
        }
    }

    /// Resolves when background work needs the loop: a finished inline
    /// write (its writer comes back, its error surfaces) or the pool's
    /// controller tick.
    async fn tend(&mut self) -> Result<()> {
        match self {
            Dispatch::Inline(w) if w.busy.is_some() => w.settle().await,
            Dispatch::Inline(_) => std::future::pending().await,
            Dispatch::Pool(pool) => pool.tend().await,
        }
    }
}

/// Runs a sink until its inputs close, flushing what is pending at the end.
pub async fn run_sink(
    env: TaskEnv,
    first: Box<dyn DynSink>,
    mut input: Receiver<Envelope>,
) -> Result<()> {
    let policy = env.config.batch.clone();
    let m = env.metrics.clone();
    let mut out = match env.config.parallelism {
        Parallelism::Fixed(1) => {
            m.workers.store(1, Relaxed);
            Dispatch::Inline(Inline {
                idle: Some(Writer::new(env, first)),
                busy: None,
            })
        }
        p => Dispatch::Pool(Pool::start(env, first, p)?),
    };
    let mut p = Pending {
        items: Vec::new(),
        rows: 0,
        bytes: 0,
        since: None,
    };
    m.set_state(State::Running);
    loop {
        let due = p.since.map(|s| s + policy.max_wait);
        let next = tokio::select! {
            e = input.recv() => e,
            _ = async { if let Some(d) = due { tokio::time::sleep_until(d.into()).await } else { std::future::pending().await } } => {
                out.flush(&mut p).await?;
                continue;
            }
            r = out.tend() => {
                r?;
                continue;
            }
        };
        let Some(e) = next else { break };
        m.queue_depth.store(input.len() as i64, Relaxed);
        let rows = e.batch.data.num_rows();
        let bytes = e.bytes();
        m.rows_in.fetch_add(rows as u64, Relaxed);
        m.bytes_in.fetch_add(bytes as u64, Relaxed);
        m.batches_in.fetch_add(1, Relaxed);
        p.rows += rows;
        p.bytes += bytes;
        p.since.get_or_insert_with(Instant::now);
        p.items.push(e);
        if p.rows >= policy.max_rows || p.bytes >= policy.max_bytes {
            out.flush(&mut p).await?;
        }
    }
    out.flush(&mut p).await?;
    match out {
        Dispatch::Inline(mut inline) => {
            inline.settle().await?;
            if let Some(mut w) = inline.idle
                && let Err(e) = w.sink.shutdown().await
            {
                tracing::warn!(component = %w.env.config.id, error = %e, "sink shutdown failed");
            }
        }
        Dispatch::Pool(pool) => pool.finish().await?,
    }
    m.set_state(State::Stopped);
    Ok(())
}
