//! The typed pipeline configuration, after parsing and interpolation.

use super::error::Loc;
pub use qdp_sdk::ffi::host::Kind;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A whole pipeline file.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// The file it came from (or a name given to an in-memory string).
    pub file: PathBuf,
    /// `pipeline.name`: names metrics, logs and the state directory.
    pub name: String,
    /// `pipeline.data_dir`: where checkpoints and other state live.
    pub data_dir: PathBuf,
    /// `pipeline.plugin_path`: directories searched for plugin libraries.
    pub plugin_path: Vec<PathBuf>,
    /// `pipeline.shutdown_timeout`: how long a graceful stop may drain.
    pub shutdown_timeout: Duration,
    /// `pipeline.channel_capacity`: batches queued between two components.
    pub channel_capacity: usize,
    /// `admin.address`: where `/health` and `/metrics` are served.
    pub admin_address: Option<String>,
    /// `log.format`: `text` or `json`.
    pub log_format: Option<String>,
    /// `pipeline.state.postgres`: keep checkpoints and release SLA rows in
    /// this Postgres (`ops` schema) instead of files under `data_dir`.
    pub state_postgres: Option<String>,
    /// `pipeline.state.schema`: the Postgres schema of those tables (default `ops`).
    pub state_schema: Option<String>,
    /// `pipeline.alert_webhook`: where release alerts are POSTed.
    pub alert_webhook: Option<String>,
    /// `pipeline.lineage`: where OpenLineage run events go.
    pub lineage: Option<LineageConfig>,
    /// Sources, transforms and sinks in file order.
    pub components: Vec<ComponentConfig>,
}

/// `[pipeline.lineage]`: OpenLineage run events (start, complete, fail)
/// with the run's input and output datasets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineageConfig {
    /// Where the events go.
    pub target: LineageTarget,
    /// The OpenLineage job namespace (default `qdp`).
    pub namespace: String,
}

/// Where OpenLineage events are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineageTarget {
    /// POSTed as JSON to this URL (e.g. Marquez's `/api/v1/lineage`).
    Http(String),
    /// Appended as one JSON line per event to this file.
    File(PathBuf),
}

/// One `[sources.ID]`, `[transforms.ID]` or `[sinks.ID]` table.
#[derive(Debug, Clone)]
pub struct ComponentConfig {
    /// The table's id.
    pub id: String,
    /// Which section it is in.
    pub kind: Kind,
    /// `type`: built-in, registered or plugin component name.
    pub type_name: String,
    /// Where the table starts.
    pub loc: Loc,
    /// Where `type` is.
    pub type_loc: Loc,
    /// `inputs`, each with where it is written.
    pub inputs: Vec<(InputRef, Loc)>,
    /// Every other key: the component's own options, as JSON.
    pub options: serde_json::Value,
    /// Where each top-level option key is written.
    pub option_locs: BTreeMap<String, Loc>,
    /// `batch`: how a sink groups batches before a write.
    pub batch: BatchPolicy,
    /// `restart`: how a failing component is retried.
    pub restart: RestartPolicy,
    /// `parallelism`: writers of a sink.
    pub parallelism: Parallelism,
    /// `buffer`: a durable disk buffer on this component's output.
    pub buffer: Option<BufferConfig>,
    /// `schedule` or `release_calendar` (sources): run in passes.
    pub schedule: Option<crate::schedule::ScheduleSpec>,
}

/// `[sources.ID.buffer]` or `[transforms.ID.buffer]`: the component's
/// output is appended to a disk buffer and acknowledged once fsynced; each
/// downstream component reads it at its own pace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferConfig {
    /// `dir`: where the segments and cursors live (default `<data_dir>/buffers/<id>`).
    pub dir: Option<PathBuf>,
    /// `max_bytes`, `segment_bytes`, `fsync`, `group_commit`.
    pub options: crate::buffer::BufferOptions,
}

impl ComponentConfig {
    /// The section name of this component's kind.
    pub fn section(&self) -> &'static str {
        section_of(self.kind)
    }

    /// The dotted key of this component, e.g. `sinks.out`.
    pub fn key(&self) -> String {
        format!("{}.{}", self.section(), self.id)
    }
}

/// `sources`, `transforms` or `sinks`.
pub fn section_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Source => "sources",
        Kind::Transform => "transforms",
        Kind::Sink => "sinks",
    }
}

/// A reference to another component's output: `id` or `id.port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InputRef {
    /// The producing component.
    pub component: String,
    /// The port; `None` is the main output.
    pub port: Option<String>,
}

impl InputRef {
    /// Parses `id` or `id.port`.
    pub fn parse(text: &str) -> Self {
        match text.split_once('.') {
            Some((c, p)) => Self {
                component: c.to_string(),
                port: Some(p.to_string()),
            },
            None => Self {
                component: text.to_string(),
                port: None,
            },
        }
    }
}

impl std::fmt::Display for InputRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.port {
            Some(p) => write!(f, "{}.{p}", self.component),
            None => f.write_str(&self.component),
        }
    }
}

/// When a sink's pending batches are written: whichever limit comes first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPolicy {
    /// Rows.
    pub max_rows: usize,
    /// In-memory bytes.
    pub max_bytes: usize,
    /// Time since the first pending batch arrived.
    pub max_wait: Duration,
}

impl Default for BatchPolicy {
    fn default() -> Self {
        Self {
            max_rows: 100_000,
            max_bytes: 64 << 20,
            max_wait: Duration::from_secs(1),
        }
    }
}

/// How many writers a sink runs at once (`parallelism`).
///
/// Writers each hold their own instance of the sink (their own connection)
/// and commit in any order; acknowledgements still reach each source in
/// order. Use more than one only for destinations where commit order does
/// not matter (ClickHouse, files, Iceberg); a Kafka sink keeps per-key order
/// only with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parallelism {
    /// Exactly this many writers.
    Fixed(usize),
    /// Between `min` and `max` writers, driven by backlog and commit latency.
    Auto {
        /// Fewest writers.
        min: usize,
        /// Most writers.
        max: usize,
    },
}

impl Parallelism {
    /// `parallelism = "auto"` without bounds.
    pub const AUTO: Self = Self::Auto { min: 1, max: 4 };

    /// Writers to start with.
    pub fn initial(self) -> usize {
        match self {
            Self::Fixed(n) => n,
            Self::Auto { min, .. } => min,
        }
    }

    /// Most writers ever running.
    pub fn max(self) -> usize {
        match self {
            Self::Fixed(n) => n,
            Self::Auto { max, .. } => max,
        }
    }
}

impl Default for Parallelism {
    fn default() -> Self {
        Self::Fixed(1)
    }
}

/// How a failing component is retried and restarted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Restarts in a row (without a success between) before the pipeline fails.
    pub max_restarts: u32,
    /// First backoff.
    pub backoff_initial: Duration,
    /// Longest backoff.
    pub backoff_max: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            max_restarts: 10,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(30),
        }
    }
}
