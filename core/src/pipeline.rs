//! The embedding API: build a pipeline from a file, a TOML string or code,
//! run it in-process, and read its health and metrics.
//!
//! ```no_run
//! # async fn demo() -> Result<(), qdp_core::Error> {
//! use qdp_core::{Pipeline, Registry};
//! let toml = r#"
//!     [sources.sim]
//!     type = "market_sim"
//!     max_ticks = 1000
//!     [sinks.out]
//!     type = "stdout"
//!     inputs = ["sim"]
//! "#;
//! let registry = Registry::with_builtins();
//! let pipeline = Pipeline::from_toml_str("inline.toml", toml, registry).await?;
//! let metrics = pipeline.metrics();
//! let report = pipeline.run_until(std::future::pending()).await?;
//! println!("{} sources finished in {:?}; health: {}", report.exhausted_sources.len(), report.elapsed, metrics.health());
//! # Ok(()) }
//! ```

use crate::config::{
    BatchPolicy, BufferConfig, ComponentConfig, ConfigErrors, InputRef, Kind, Loc, Parallelism,
    PipelineConfig, RestartPolicy, load_pipeline, parse_pipeline,
};
use crate::metrics::Metrics;
use crate::plan::{Plan, plan};
use crate::registry::{Registry, search_path};
use crate::runtime::{RunOptions, RunReport, run_with};
use crate::schedule::{Clock, ScheduleSpec};
use qdp_sdk::PluginError;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Why a pipeline could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is wrong; nothing ran.
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// A component failed for good while running.
    #[error("pipeline failed: {0}")]
    Run(#[from] PluginError),
    /// The admin port could not be bound.
    #[error("cannot serve the admin port on {address}: {source}")]
    Admin {
        /// The configured address.
        address: String,
        /// The bind error.
        source: std::io::Error,
    },
}

/// A checked pipeline, ready to run.
pub struct Pipeline {
    plan: Plan,
    metrics: Arc<Metrics>,
    admin: Option<SocketAddr>,
    options: RunOptions,
}

impl Pipeline {
    /// Loads plugins from the configured search path into `registry` and checks the file.
    pub async fn from_file(path: &Path, registry: Registry) -> Result<Self, Error> {
        Self::from_config(load_pipeline(path)?, registry).await
    }

    /// Like [`Pipeline::from_file`] for a TOML string; `name` is used in error messages.
    pub async fn from_toml_str(name: &str, text: &str, registry: Registry) -> Result<Self, Error> {
        let cfg = parse_pipeline(Path::new(name), text, &|k| std::env::var(k).ok())?;
        Self::from_config(cfg, registry).await
    }

    /// Checks an already parsed configuration.
    pub async fn from_config(cfg: PipelineConfig, mut registry: Registry) -> Result<Self, Error> {
        registry.load_plugin_dirs(&search_path(&cfg.plugin_path));
        let plan = plan(cfg, &registry).await?;
        for w in &plan.warnings {
            tracing::warn!("{w}");
        }
        Ok(Self {
            plan,
            metrics: Arc::new(Metrics::default()),
            admin: None,
            options: RunOptions::default(),
        })
    }

    /// Reads time for scheduled sources from `clock` instead of the wall clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.options.clock = clock;
        self
    }

    /// Reports every scheduled pass that read something as an OpenLineage
    /// run of its own (`<pipeline>.<source>`).
    pub fn with_pass_lineage(mut self, lineage: crate::lineage::PassLineage) -> Self {
        self.options.lineage = Some(Arc::new(lineage));
        self
    }

    /// Runs each scheduled source for one pass now, then ends (`qdp run --once`).
    pub fn once(mut self, once: bool) -> Self {
        self.options.once = once;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &PipelineConfig {
        &self.plan.config
    }

    /// Non-fatal findings of the checks.
    pub fn warnings(&self) -> &[String] {
        &self.plan.warnings
    }

    /// Live metrics; keep a clone to read them while the pipeline runs.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }

    /// Starts the admin port if the configuration asks for one (call before
    /// [`Pipeline::run_until`]); returns the bound address.
    pub async fn serve_admin(&mut self) -> Result<Option<SocketAddr>, Error> {
        if let (Some(address), None) = (self.plan.config.admin_address.clone(), self.admin) {
            let addr = crate::admin::serve(&address, &self.plan.config.name, self.metrics())
                .await
                .map_err(|source| Error::Admin { address, source })?;
            tracing::info!(%addr, "admin port serving /health and /metrics");
            self.admin = Some(addr);
        }
        Ok(self.admin)
    }

    /// Runs until every source is exhausted, or `shutdown` resolves and the
    /// pipeline has drained.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<RunReport, Error> {
        Ok(run_with(self.plan, self.metrics, shutdown, self.options).await?)
    }
}

/// Builds a pipeline configuration in code instead of TOML.
pub struct PipelineBuilder {
    cfg: PipelineConfig,
}

impl PipelineBuilder {
    /// A pipeline named `name`, keeping state under `data_dir`.
    pub fn new(name: &str, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            cfg: PipelineConfig {
                file: PathBuf::from(format!("<builder:{name}>")),
                name: name.to_string(),
                data_dir: data_dir.into(),
                plugin_path: Vec::new(),
                shutdown_timeout: Duration::from_secs(30),
                channel_capacity: 16,
                admin_address: None,
                log_format: None,
                state_postgres: None,
                state_schema: None,
                alert_webhook: None,
                lineage: None,
                components: Vec::new(),
            },
        }
    }

    fn add(
        mut self,
        kind: Kind,
        id: &str,
        type_name: &str,
        inputs: &[&str],
        options: serde_json::Value,
        batch: BatchPolicy,
    ) -> Self {
        let loc = Loc {
            file: self.cfg.file.clone(),
            line: 0,
            column: 0,
        };
        self.cfg.components.push(ComponentConfig {
            id: id.to_string(),
            kind,
            type_name: type_name.to_string(),
            loc: loc.clone(),
            type_loc: loc.clone(),
            inputs: inputs
                .iter()
                .map(|i| (InputRef::parse(i), loc.clone()))
                .collect(),
            options,
            option_locs: Default::default(),
            batch,
            restart: RestartPolicy::default(),
            buffer: None,
            parallelism: Parallelism::default(),
            schedule: None,
        });
        self
    }

    /// Sets how many writers sink `id` (added before) runs.
    pub fn parallelism(mut self, id: &str, parallelism: Parallelism) -> Self {
        if let Some(c) = self.cfg.components.iter_mut().find(|c| c.id == id) {
            c.parallelism = parallelism;
        }
        self
    }

    /// Runs source `id` (added before) in passes on `schedule`.
    pub fn schedule(mut self, id: &str, schedule: ScheduleSpec) -> Self {
        if let Some(c) = self.cfg.components.iter_mut().find(|c| c.id == id) {
            c.schedule = Some(schedule);
        }
        self
    }

    /// Keeps checkpoints and release SLA rows in this Postgres.
    pub fn state_postgres(mut self, url: &str) -> Self {
        self.cfg.state_postgres = Some(url.to_string());
        self
    }

    /// POSTs release alerts to `url`.
    pub fn alert_webhook(mut self, url: &str) -> Self {
        self.cfg.alert_webhook = Some(url.to_string());
        self
    }

    /// Puts a durable disk buffer on the output of component `id` (added before).
    pub fn buffer(mut self, id: &str, buffer: BufferConfig) -> Self {
        if let Some(c) = self.cfg.components.iter_mut().find(|c| c.id == id) {
            c.buffer = Some(buffer);
        }
        self
    }

    /// Adds a source.
    pub fn source(self, id: &str, type_name: &str, options: serde_json::Value) -> Self {
        self.add(
            Kind::Source,
            id,
            type_name,
            &[],
            options,
            BatchPolicy::default(),
        )
    }

    /// Adds a transform reading `inputs`.
    pub fn transform(
        self,
        id: &str,
        type_name: &str,
        inputs: &[&str],
        options: serde_json::Value,
    ) -> Self {
        self.add(
            Kind::Transform,
            id,
            type_name,
            inputs,
            options,
            BatchPolicy::default(),
        )
    }

    /// Adds a sink reading `inputs`, writing batches as `batch` says.
    pub fn sink(
        self,
        id: &str,
        type_name: &str,
        inputs: &[&str],
        options: serde_json::Value,
        batch: BatchPolicy,
    ) -> Self {
        self.add(Kind::Sink, id, type_name, inputs, options, batch)
    }

    /// Adds a directory to the plugin search path.
    pub fn plugin_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cfg.plugin_path.push(dir.into());
        self
    }

    /// Sets how long a graceful stop may take.
    pub fn shutdown_timeout(mut self, d: Duration) -> Self {
        self.cfg.shutdown_timeout = d;
        self
    }

    /// Checks the pipeline against `registry`.
    pub async fn build(self, registry: Registry) -> Result<Pipeline, Error> {
        Pipeline::from_config(self.cfg, registry).await
    }
}
