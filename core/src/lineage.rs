//! OpenLineage run events: `START` when a run begins, `COMPLETE` or `FAIL`
//! when it ends, each naming the run's input and output datasets, so a
//! lineage server (Marquez, DataHub, OpenMetadata…) sees what qdp read and
//! wrote without asking anyone.
//!
//! Events follow the OpenLineage 2-0-2 `RunEvent` shape. They go to an
//! HTTP endpoint (retried a few times) or are appended to a file, one JSON
//! document per line. Delivery failures are logged and never stop a
//! pipeline: lineage is a record of the run, not a part of it.

use crate::config::{LineageConfig, LineageTarget};
use serde_json::{Value, json};
use std::io::Write;
use std::time::Duration;

/// The spec version the events follow.
const SCHEMA_URL: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent";
/// Who produced the events.
const PRODUCER: &str = concat!("urn:qdp:core:", env!("CARGO_PKG_VERSION"));
/// Attempts per HTTP event.
const ATTEMPTS: u32 = 3;

/// A dataset as OpenLineage names it: a namespace (the system, e.g.
/// `postgres://db:5432`) and a name within it (e.g. `warehouse.silver.x`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dataset {
    /// The system the dataset lives in.
    pub namespace: String,
    /// Its name in that system.
    pub name: String,
}

/// The datasets of each scheduled source of a pipeline, so every pass that
/// read something is reported as a run of its own job `<pipeline>.<source>`
/// (a long-running batch pipeline is otherwise one run that never ends).
#[derive(Debug, Clone)]
pub struct PassLineage {
    /// Where the events go.
    pub config: LineageConfig,
    /// Per source id: (inputs, outputs).
    pub sources: std::collections::BTreeMap<String, (Vec<Dataset>, Vec<Dataset>)>,
}

impl PassLineage {
    /// Reports one finished pass of `source` that started at `started`:
    /// START then COMPLETE when its rows were committed, ABORT when the
    /// pipeline stopped first.
    pub async fn pass(
        &self,
        pipeline: &str,
        source: &str,
        started: chrono::DateTime<chrono::Utc>,
        committed: bool,
    ) {
        let Some((inputs, outputs)) = self.sources.get(source) else {
            return;
        };
        let run = RunLineage::new(
            self.config.clone(),
            &format!("{pipeline}.{source}"),
            inputs.clone(),
            outputs.clone(),
        );
        run.emit(run.event_at("START", started, None)).await;
        let end = if committed { "COMPLETE" } else { "ABORT" };
        run.emit(run.event_at(end, chrono::Utc::now(), None)).await;
    }
}

/// Emits the events of one run of one job.
#[derive(Debug)]
pub struct RunLineage {
    config: LineageConfig,
    job: String,
    run_id: String,
    inputs: Vec<Dataset>,
    outputs: Vec<Dataset>,
    client: reqwest::Client,
}

impl RunLineage {
    /// A new run of `job` reading `inputs` and writing `outputs`.
    pub fn new(
        config: LineageConfig,
        job: &str,
        inputs: Vec<Dataset>,
        outputs: Vec<Dataset>,
    ) -> Self {
        let client = crate::post::client();
        Self {
            config,
            job: job.to_string(),
            run_id: uuid::Uuid::new_v4().to_string(),
            inputs,
            outputs,
            client,
        }
    }

    /// The run's id (a UUID), the same in all its events.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The run began.
    pub async fn start(&self) {
        self.emit(self.event("START", None)).await;
    }

    /// The run ended well.
    pub async fn complete(&self) {
        self.emit(self.event("COMPLETE", None)).await;
    }

    /// The run ended with `error`.
    pub async fn fail(&self, error: &str) {
        self.emit(self.event("FAIL", Some(error))).await;
    }

    /// The event document, happening now.
    pub fn event(&self, kind: &str, error: Option<&str>) -> Value {
        self.event_at(kind, chrono::Utc::now(), error)
    }

    /// The event document, happening at `at`.
    pub fn event_at(
        &self,
        kind: &str,
        at: chrono::DateTime<chrono::Utc>,
        error: Option<&str>,
    ) -> Value {
        let mut run = json!({ "runId": self.run_id });
        if let Some(message) = error {
            run["facets"] = json!({ "errorMessage": {
                "_producer": PRODUCER,
                "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
                "message": message,
                "programmingLanguage": "rust",
            }});
        }
        let sets = |d: &[Dataset]| -> Vec<Value> {
            d.iter()
                .map(|d| json!({ "namespace": d.namespace, "name": d.name }))
                .collect()
        };
        json!({
            "eventType": kind,
            "eventTime": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "run": run,
            "job": { "namespace": self.config.namespace, "name": self.job },
            "inputs": sets(&self.inputs),
            "outputs": sets(&self.outputs),
            "producer": PRODUCER,
            "schemaURL": SCHEMA_URL,
        })
    }

    async fn emit(&self, event: Value) {
        let kind = event["eventType"].as_str().unwrap_or_default().to_string();
        let result = match &self.config.target {
            LineageTarget::File(path) => append(path, &event),
            LineageTarget::Http(url) => {
                crate::post::post_json(
                    &self.client,
                    url,
                    &event,
                    ATTEMPTS,
                    Duration::from_millis(200),
                )
                .await
            }
        };
        match result {
            Ok(()) => tracing::debug!(event = %kind, run = %self.run_id, "lineage event sent"),
            Err(e) => {
                tracing::warn!(event = %kind, run = %self.run_id, error = %e, "lineage event not delivered")
            }
        }
    }
}

/// Appends one line; the file and its folder are created when missing.
fn append(path: &std::path::Path, event: &Value) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut line = serde_json::to_vec(event).map_err(|e| e.to_string())?;
    line.push(b'\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(&line))
        .map_err(|e| format!("{}: {e}", path.display()))
}
