//! The runtime: runs a checked [`Plan`] on tokio.
//!
//! One task per component, bounded channels between them (a slow sink slows
//! its sources; nothing is dropped), acknowledgement by finalizers
//! ([`ack`]), checkpoints stored per source ([`state`]), retries and restarts
//! with backoff ([`supervise`]), and a graceful stop: sources stop polling,
//! the channels drain, sinks flush and commit, sources acknowledge, then the
//! run ends — or the shutdown deadline passes and what was not committed is
//! left unacknowledged, to be replayed by the next run.

pub mod ack;
mod buffered;
mod conform;
mod envelope;
mod pool;
mod sink;
mod source;
pub mod state;
mod supervise;
mod transform;

pub use envelope::Envelope;
pub use source::SourceOutcome;
pub use supervise::backoff;

use crate::buffer::Buffer;
use crate::component::Instance;
use crate::config::{ComponentConfig, Kind};
use crate::metrics::{ComponentMetrics, Metrics};
use crate::plan::{Plan, context_for};
use crate::reconcile::Accounting;
use crate::registry::ComponentType;
use crate::schedule::alert::Alerts;
use crate::schedule::postgres::PgOps;
use crate::schedule::sla::{FileSlaStore, SlaStore};
use crate::schedule::{Clock, SchedEnv, SystemClock};
use qdp_sdk::{Context, PluginError, Result};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

/// What every component task gets.
#[derive(Clone)]
pub struct TaskEnv {
    /// Its configuration.
    pub config: ComponentConfig,
    /// Its type, to build new instances on restart.
    pub ty: ComponentType,
    /// Its context.
    pub context: Context,
    /// Its metrics.
    pub metrics: Arc<ComponentMetrics>,
    /// The pipeline's data directory.
    pub data_dir: PathBuf,
    /// Row accounting per source ([`crate::reconcile`]).
    pub reconcile: Arc<Accounting>,
    /// Clock, state store, SLA store and alerts (scheduled sources).
    pub sched: Arc<SchedEnv>,
    stop: watch::Receiver<Option<Instant>>,
}

impl TaskEnv {
    /// A stop was requested.
    pub fn stopping(&self) -> bool {
        self.stop.borrow().is_some()
    }

    /// When a requested stop must be done by.
    pub fn shutdown_deadline(&self) -> Option<Instant> {
        *self.stop.borrow()
    }

    /// The shutdown deadline has passed.
    pub fn deadline_passed(&self) -> bool {
        self.shutdown_deadline()
            .is_some_and(|d| Instant::now() >= d)
    }
}

/// How a run ended.
#[derive(Debug)]
pub struct RunReport {
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Sources that ran out of data by themselves.
    pub exhausted_sources: Vec<String>,
    /// Batches left unacknowledged at the end (replayed next run).
    pub unacknowledged_batches: usize,
}

/// A buffer reader to start: the consumer's channel and the ports it reads.
type ReaderPlan = (mpsc::Sender<Envelope>, BTreeSet<Option<String>>);

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Source => "source",
        Kind::Transform => "transform",
        Kind::Sink => "sink",
    }
}

/// Opens the disk buffer of every component that has one, for its consumers.
fn open_buffers(plan: &Plan, metrics: &Metrics) -> Result<BTreeMap<String, Arc<Buffer>>> {
    let mut out = BTreeMap::new();
    for n in &plan.nodes {
        let Some(b) = &n.config.buffer else {
            continue;
        };
        let id = &n.config.id;
        let consumers: Vec<String> = plan
            .nodes
            .iter()
            .filter(|c| c.config.inputs.iter().any(|(i, _)| &i.component == id))
            .map(|c| c.config.id.clone())
            .collect();
        let dir = b
            .dir
            .clone()
            .unwrap_or_else(|| plan.config.data_dir.join("buffers").join(id));
        let buf = Buffer::open(&dir, b.options.clone(), &consumers)
            .map_err(|e| buffered::buffer_error(id, e))?;
        metrics.register_buffer(id, Arc::clone(&buf));
        out.insert(id.clone(), buf);
    }
    Ok(out)
}

/// How a run is driven, beyond its configuration.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where scheduled sources read the time (a [`crate::schedule::TestClock`] in tests).
    pub clock: Arc<dyn Clock>,
    /// Run every scheduled source for one pass now, then end (`qdp run --once`).
    pub once: bool,
    /// OpenLineage events per scheduled pass.
    pub lineage: Option<Arc<crate::lineage::PassLineage>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            once: false,
            lineage: None,
        }
    }
}

/// The state store, SLA store and alerts of a run: Postgres when
/// `[pipeline.state] postgres` is set, files under the data dir otherwise.
async fn sched_env(
    cfg: &crate::config::PipelineConfig,
    metrics: &Arc<Metrics>,
    options: RunOptions,
) -> Result<SchedEnv> {
    let (state, sla): (Arc<dyn state::StateBackend>, Arc<dyn SlaStore>) = match &cfg.state_postgres
    {
        Some(url) => {
            let pg = Arc::new(
                PgOps::connect(url, &cfg.name, cfg.state_schema.as_deref().unwrap_or("ops"))
                    .await?,
            );
            (pg.clone(), pg)
        }
        None => (
            Arc::new(state::CheckpointStore::new(&cfg.data_dir)),
            Arc::new(FileSlaStore::new(&cfg.data_dir)),
        ),
    };
    Ok(SchedEnv {
        pipeline: cfg.name.clone(),
        clock: options.clock,
        state,
        sla,
        alerts: Alerts::new(cfg.alert_webhook.clone()),
        metrics: Arc::clone(metrics),
        once: options.once,
        lineage: options.lineage,
    })
}

/// Runs `plan` until every source is exhausted and drained, or `shutdown`
/// resolves (then drains within the pipeline's shutdown timeout).
pub async fn run(
    plan: Plan,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<RunReport> {
    run_with(plan, metrics, shutdown, RunOptions::default()).await
}

/// [`run`] with a clock and `--once`.
pub async fn run_with(
    mut plan: Plan,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send,
    options: RunOptions,
) -> Result<RunReport> {
    let started = Instant::now();
    let cfg = plan.config.clone();
    let scheduled = plan.nodes.iter().filter(|n| n.config.schedule.is_some());
    options.clock.scheduled_sources(scheduled.count());
    let sched = Arc::new(sched_env(&cfg, &metrics, options).await?);
    let (stop_tx, stop_rx) = watch::channel(None::<Instant>);
    // One bounded input channel per consumer.
    let mut inputs: HashMap<String, mpsc::Receiver<Envelope>> = HashMap::new();
    let mut senders: HashMap<String, mpsc::Sender<Envelope>> = HashMap::new();
    for n in plan.nodes.iter().filter(|n| n.config.kind != Kind::Source) {
        let (tx, rx) = mpsc::channel(cfg.channel_capacity);
        senders.insert(n.config.id.clone(), tx);
        inputs.insert(n.config.id.clone(), rx);
    }
    let buffers = open_buffers(&plan, &metrics)?;
    let reconcile = Arc::new(Accounting::new(&plan, Arc::clone(&metrics)));
    let mut routes: HashMap<String, transform::Routes> = HashMap::new();
    // (producer, consumer) -> the consumer's channel and the ports it reads.
    let mut readers: BTreeMap<(String, String), ReaderPlan> = BTreeMap::new();
    for n in &plan.nodes {
        for (input, _) in &n.config.inputs {
            let Some(tx) = senders.get(&n.config.id) else {
                continue;
            };
            if buffers.contains_key(&input.component) {
                readers
                    .entry((input.component.clone(), n.config.id.clone()))
                    .or_insert_with(|| (tx.clone(), BTreeSet::new()))
                    .1
                    .insert(input.port.clone());
            } else {
                routes
                    .entry(input.component.clone())
                    .or_default()
                    .entry(input.port.clone())
                    .or_default()
                    .push(tx.clone());
            }
        }
    }
    drop(senders);
    let mut tasks: JoinSet<(String, Result<Option<SourceOutcome>>)> = JoinSet::new();
    for (producer, buf) in &buffers {
        let (tx, rx) = mpsc::channel(cfg.channel_capacity);
        let ports: BTreeSet<Option<String>> = readers
            .iter()
            .filter(|((p, _), _)| p == producer)
            .flat_map(|(_, (_, ports))| ports.iter().cloned())
            .collect();
        let my = routes.entry(producer.clone()).or_default();
        for port in ports {
            my.insert(port, vec![tx.clone()]);
        }
        let (id, buf) = (format!("{producer}.buffer"), Arc::clone(buf));
        tasks.spawn(async move {
            let r = buffered::run_writer(id.clone(), buf, rx).await;
            (id, r.map(|_| None))
        });
    }
    for ((producer, consumer), (tx, ports)) in readers {
        let Some(n) = plan.nodes.iter().find(|n| n.config.id == consumer) else {
            continue;
        };
        let Some(buf) = buffers.get(&producer).cloned() else {
            continue;
        };
        let env = TaskEnv {
            config: n.config.clone(),
            ty: n.ty.clone(),
            context: context_for(&cfg, &n.config),
            metrics: metrics.component(&consumer, kind_name(n.config.kind)),
            data_dir: cfg.data_dir.clone(),
            reconcile: Arc::clone(&reconcile),
            sched: Arc::clone(&sched),
            stop: stop_rx.clone(),
        };
        let id = format!("{producer}.buffer->{consumer}");
        tasks.spawn(async move {
            let r = buffered::run_reader(env, producer, buf, ports, tx).await;
            (id, r.map(|_| None))
        });
    }
    for n in plan.nodes.iter_mut() {
        let id = n.config.id.clone();
        let kind = kind_name(n.config.kind);
        let env = TaskEnv {
            config: n.config.clone(),
            ty: n.ty.clone(),
            context: context_for(&cfg, &n.config),
            metrics: metrics.component(&id, kind),
            data_dir: cfg.data_dir.clone(),
            reconcile: Arc::clone(&reconcile),
            sched: Arc::clone(&sched),
            stop: stop_rx.clone(),
        };
        let mut my_routes = routes.remove(&id).unwrap_or_default();
        let instance = n
            .instance
            .take()
            .ok_or_else(|| PluginError::internal("component instance used twice"))?;
        match instance {
            Instance::Source(s) => {
                let outs = std::mem::take(&mut my_routes);
                let declared = n.outputs.clone();
                tasks.spawn(async move {
                    (
                        id,
                        source::run_source(env, s, declared, outs).await.map(Some),
                    )
                });
            }
            Instance::Transform(t) => {
                let declared = n.outputs.clone();
                let rx = inputs
                    .remove(&id)
                    .ok_or_else(|| PluginError::internal("missing input channel"))?;
                tasks.spawn(async move {
                    (
                        id,
                        transform::run_transform(env, t, declared, rx, my_routes)
                            .await
                            .map(|_| None),
                    )
                });
            }
            Instance::Sink(s) => {
                let rx = inputs
                    .remove(&id)
                    .ok_or_else(|| PluginError::internal("missing input channel"))?;
                tasks.spawn(async move { (id, sink::run_sink(env, s, rx).await.map(|_| None)) });
            }
        }
    }
    drop(routes);
    let timeout = cfg.shutdown_timeout;
    let request_stop = |why: &str| {
        if stop_tx.borrow().is_none() {
            tracing::info!(
                reason = why,
                timeout_s = timeout.as_secs_f64(),
                "stopping: draining the pipeline"
            );
            let _ = stop_tx.send(Some(Instant::now() + timeout));
        }
    };
    let mut report = RunReport {
        elapsed: Duration::ZERO,
        exhausted_sources: Vec::new(),
        unacknowledged_batches: 0,
    };
    let mut first_error: Option<PluginError> = None;
    tokio::pin!(shutdown);
    let mut shutdown_done = false;
    loop {
        tokio::select! {
            _ = &mut shutdown, if !shutdown_done => {
                shutdown_done = true;
                request_stop("shutdown requested");
            }
            joined = tasks.join_next() => {
                let Some(joined) = joined else { break };
                match joined {
                    Ok((id, Ok(Some(outcome)))) => {
                        if outcome.exhausted {
                            report.exhausted_sources.push(id);
                        }
                        report.unacknowledged_batches += outcome.unacknowledged;
                    }
                    Ok((_, Ok(None))) => {}
                    Ok((id, Err(e))) => {
                        tracing::error!(component = %id, error = %e, "component failed; stopping the pipeline");
                        let e = if e.context.iter().any(|(k, _)| k == "component") {
                            e
                        } else {
                            e.with_context("component", &id)
                        };
                        first_error.get_or_insert(e);
                        request_stop("a component failed");
                    }
                    Err(join) => {
                        first_error.get_or_insert(PluginError::internal(format!("component task failed: {join}")));
                        request_stop("a component task failed");
                    }
                }
            }
        }
    }
    report.elapsed = started.elapsed();
    match first_error {
        Some(e) => Err(e),
        None => {
            reconcile.check();
            Ok(report)
        }
    }
}
