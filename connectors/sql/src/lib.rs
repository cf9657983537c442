//! `sql`: a source plugin that extracts operational tables from Postgres
//! and MySQL/MariaDB incrementally, by an `updated_at` watermark, into
//! bronze rows (`bronze_<dataset>`, every value as text).
//!
//! The runtime runs it in passes (ADR 0002): `start(checkpoint)` connects
//! and checks every table and column against the catalogue (a wrong name is
//! a config error before anything is read), `next_batch` hands out pages
//! until every table is read, and the watermark of each table travels in
//! the checkpoint of every batch. The database is the source of record, so
//! there is no `raw_object` port; rows that cannot be loaded incrementally
//! (NULL `updated_at`) or read (bytes that are not text) go to
//! `unqualified` with the reason.

#![forbid(unsafe_code)]

pub mod config;
mod db;
mod my;
mod pass;
mod pg;
pub mod query;
pub mod render;
pub mod rows;
pub mod secret;
pub mod state;
pub mod table;

use config::Options;
use pass::{Connected, Item};
use qdp_sdk::{
    Checkpoint, Context, Describe, OutputDecl, PluginError, Result, Source, SourceBatch,
    capabilities,
};
use state::State;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Batches read ahead of the runtime at most.
const QUEUE: usize = 2;

/// The `sql` source.
pub struct Sql {
    opts: Arc<Options>,
    source_system: String,
    outputs: Vec<OutputDecl>,
    /// State after the last batch handed out: where a failed pass resumes.
    state: State,
    rx: Option<mpsc::Receiver<Result<Item>>>,
    worker: Option<JoinHandle<()>>,
    /// The pass task reported an error; the next call starts a new task.
    failed: bool,
}

impl Describe for Sql {
    type Options = Options;
    const NAME: &'static str = "sql";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CAPABILITIES: u64 = capabilities::FINITE | capabilities::RESUME;
}

impl Source for Sql {
    fn new(o: Options, _ctx: &Context) -> Result<Self> {
        o.validate()?;
        let mut outputs: Vec<OutputDecl> = o
            .tables
            .iter()
            .map(|t| {
                let category = table::bronze_category(&t.dataset);
                OutputDecl {
                    port: Some(category.clone()),
                    category,
                    // Without a column list the columns are known only
                    // once the catalogue has been read.
                    schema: t.columns.as_ref().map(|cols| {
                        rows::bronze_schema(cols.iter().map(String::as_str), t.deleted.is_some())
                    }),
                }
            })
            .collect();
        outputs.push(OutputDecl {
            port: Some("unqualified".into()),
            category: rows::UNQUALIFIED.into(),
            schema: Some(rows::unqualified_schema()),
        });
        Ok(Self {
            source_system: o.source_system.clone().unwrap_or_else(|| "sql".into()),
            opts: Arc::new(o),
            outputs,
            state: State::new(),
            rx: None,
            worker: None,
            failed: false,
        })
    }

    /// `ID.bronze_<dataset>` per table and `ID.unqualified`.
    fn outputs(&self) -> Vec<OutputDecl> {
        self.outputs.clone()
    }

    async fn start(&mut self, checkpoint: Option<Checkpoint>) -> Result<()> {
        self.stop();
        self.state = match &checkpoint {
            Some(ck) => State::from_checkpoint(ck)?,
            None => State::new(),
        };
        let conn = Connected::open(&self.opts).await?;
        self.spawn(Some(conn));
        Ok(())
    }

    async fn next_batch(&mut self) -> Result<Option<SourceBatch>> {
        if self.failed {
            self.failed = false;
            self.spawn(None);
        }
        let Some(rx) = self.rx.as_mut() else {
            return Err(PluginError::internal("next_batch before start"));
        };
        match rx.recv().await {
            Some(Ok(item)) => {
                self.state = item.state;
                Ok(Some(item.batch))
            }
            Some(Err(e)) => {
                // Resume the pass from the last batch handed out on the
                // next call (the runtime retries after a backoff).
                self.failed = true;
                Err(e)
            }
            None => Ok(None),
        }
    }

    async fn shutdown(&mut self) -> Result<()> {
        self.stop();
        Ok(())
    }
}

impl Sql {
    fn spawn(&mut self, conn: Option<Connected>) {
        self.stop();
        let (tx, rx) = mpsc::channel(QUEUE);
        self.worker = Some(tokio::spawn(pass::run(
            self.opts.clone(),
            conn,
            self.state.clone(),
            self.source_system.clone(),
            tx,
        )));
        self.rx = Some(rx);
    }

    fn stop(&mut self) {
        if let Some(w) = self.worker.take() {
            w.abort();
        }
        self.rx = None;
    }
}

qdp_sdk::export_source!(Sql);
