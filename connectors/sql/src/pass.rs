//! One pass over every configured table, run as a task that hands batches
//! to the source through a bounded channel (so `next_batch` stays
//! cancel-safe and a slow pipeline slows the reads, never drops rows).
//!
//! Per table, in one repeatable-read, read-only transaction: the rows whose
//! `updated_at` is NULL not yet reported go to unqualified; then, when a
//! lookback window is set, the rows in the window up to the stored
//! watermark are read again; then every row after the watermark, page by
//! page in `(updated_at, pk)` order. Each batch carries the whole state as
//! its checkpoint, so a restart from any acknowledged batch resumes right
//! after it.

use crate::config::Options;
use crate::db::Db;
use crate::query::{Lower, Range};
use crate::rows::{self, RawRow, UNQUALIFIED};
use crate::state::{Cursor, State, TableState};
use crate::table::TableSpec;
use qdp_sdk::arrow::datatypes::SchemaRef;
use qdp_sdk::{PluginError, Result, SourceBatch};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A batch and the state just after it.
pub struct Item {
    /// The batch.
    pub batch: SourceBatch,
    /// State to restart from after it.
    pub state: State,
}

/// What the task sends: batches, or the error that ended the pass.
pub type Sender = mpsc::Sender<Result<Item>>;

/// A connected database with its resolved tables.
pub struct Connected {
    /// The connection.
    pub db: Db,
    /// The tables, in configuration order.
    pub specs: Vec<TableSpec>,
}

impl Connected {
    /// Connects and checks every table against the catalogue.
    pub async fn open(o: &Options) -> Result<Self> {
        let mut db = Db::connect(o).await?;
        let specs = db.resolve(o).await?;
        Ok(Self { db, specs })
    }
}

/// Runs a pass from `state`, connecting first when `conn` is `None`.
pub async fn run(
    opts: Arc<Options>,
    conn: Option<Connected>,
    state: State,
    source_system: String,
    tx: Sender,
) {
    let conn = match conn {
        Some(c) => c,
        None => match Connected::open(&opts).await {
            Ok(c) => c,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        },
    };
    let Connected { mut db, specs } = conn;
    let mut pass = Pass {
        state,
        batch_rows: opts.batch_rows,
        lookback: opts.lookback().unwrap_or(Duration::ZERO),
        source_system,
        tx: tx.clone(),
    };
    for t in &specs {
        let schema = rows::bronze_schema(
            t.columns.iter().map(|c| c.name.as_str()),
            t.deleted.is_some(),
        );
        let read = match db.begin().await {
            Ok(()) => pass.table(&mut db, t, &schema).await,
            Err(e) => Err(e),
        };
        let done = match read {
            Ok(n) => db.commit().await.map(|()| n),
            Err(e) => Err(e),
        };
        match done {
            Ok(n) => tracing::info!(table = %t.qualified(), rows = n, "table read"),
            Err(e) if e.message == STOPPED => return,
            Err(e) => {
                let e = if e.context.iter().any(|(k, _)| k == "table") {
                    e
                } else {
                    e.with_context("table", t.qualified())
                };
                let _ = tx.send(Err(e)).await;
                return;
            }
        }
    }
    db.close().await;
}

const STOPPED: &str = "the source stopped reading";

struct Pass {
    state: State,
    batch_rows: usize,
    lookback: Duration,
    source_system: String,
    tx: Sender,
}

impl Pass {
    fn table_state(&mut self, t: &TableSpec) -> &mut TableState {
        let ts = self.state.tables.entry(t.dataset.clone()).or_default();
        ts.table = t.qualified();
        ts
    }

    /// Reads one table; returns how many rows it emitted.
    async fn table(&mut self, db: &mut Db, t: &TableSpec, schema: &SchemaRef) -> Result<usize> {
        let mut emitted = self.nulls(db, t).await?;
        let watermark = self.table_state(t).watermark.clone();
        if let Some(wm) = watermark
            .as_ref()
            .filter(|_| self.lookback > Duration::ZERO)
        {
            let mut cursor: Option<Cursor> = None;
            loop {
                let lower = match &cursor {
                    None => Lower::Since(wm, self.lookback),
                    Some(c) => Lower::After(c),
                };
                let range = Range {
                    lower,
                    upper: Some(wm),
                };
                let page = db.page(t, range, self.batch_rows).await?;
                let full = page.len() >= self.batch_rows;
                let Some(last) = last_cursor(&page)? else {
                    break;
                };
                emitted += self.emit(t, schema, page).await?;
                cursor = Some(last);
                if !full {
                    break;
                }
            }
        }
        let mut cursor = watermark;
        loop {
            let range = Range {
                lower: cursor.as_ref().map_or(Lower::Start, Lower::After),
                upper: None,
            };
            let page = db.page(t, range, self.batch_rows).await?;
            let full = page.len() >= self.batch_rows;
            let Some(last) = last_cursor(&page)? else {
                break;
            };
            self.table_state(t).watermark = Some(last.clone());
            emitted += self.emit(t, schema, page).await?;
            cursor = Some(last);
            if !full {
                break;
            }
        }
        Ok(emitted)
    }

    /// Sends rows with a NULL `updated_at` not reported before to unqualified.
    async fn nulls(&mut self, db: &mut Db, t: &TableSpec) -> Result<usize> {
        let found = db.nulls(t).await?;
        let current: BTreeSet<String> = found.iter().map(|r| rows::pk_text(t, r)).collect();
        let old: BTreeSet<String> = self.table_state(t).null_keys.iter().cloned().collect();
        let mut reported: BTreeSet<String> = old.intersection(&current).cloned().collect();
        let fresh: Vec<RawRow> = found
            .into_iter()
            .filter(|r| !old.contains(&rows::pk_text(t, r)))
            .collect();
        let mut emitted = 0;
        for chunk in fresh.chunks(self.batch_rows) {
            reported.extend(chunk.iter().map(|r| rows::pk_text(t, r)));
            self.table_state(t).null_keys = reported.iter().cloned().collect();
            let sorted = rows::sort(t, chunk.to_vec());
            let data = rows::unqualified_batch(t, &sorted.unqualified)?;
            emitted += data.num_rows();
            self.send(UNQUALIFIED.to_string(), data).await?;
        }
        self.table_state(t).null_keys = current.into_iter().collect();
        Ok(emitted)
    }

    /// Sends one page as a bronze batch and, when some rows could not be
    /// read, an unqualified batch.
    async fn emit(
        &mut self,
        t: &TableSpec,
        schema: &SchemaRef,
        page: Vec<RawRow>,
    ) -> Result<usize> {
        let sorted = rows::sort(t, page);
        let mut n = 0;
        if !sorted.bronze.is_empty() {
            let data = rows::bronze_batch(schema, t, &sorted.bronze)?;
            n += data.num_rows();
            self.send(t.category(), data).await?;
        }
        if !sorted.unqualified.is_empty() {
            let data = rows::unqualified_batch(t, &sorted.unqualified)?;
            n += data.num_rows();
            self.send(UNQUALIFIED.to_string(), data).await?;
        }
        Ok(n)
    }

    async fn send(
        &mut self,
        category: String,
        data: qdp_sdk::arrow::array::RecordBatch,
    ) -> Result<()> {
        let item = Item {
            batch: SourceBatch {
                category,
                source_system: self.source_system.clone(),
                data,
                checkpoint: self.state.to_checkpoint()?,
                positions: Vec::new(),
            },
            state: self.state.clone(),
        };
        self.tx
            .send(Ok(item))
            .await
            .map_err(|_| PluginError::internal(STOPPED))
    }
}

/// The cursor of the last row of a page, `None` for an empty page.
fn last_cursor(page: &[RawRow]) -> Result<Option<Cursor>> {
    let Some(last) = page.last() else {
        return Ok(None);
    };
    let mut keys = last.keys.iter();
    let updated_at = keys.next().cloned().flatten();
    let pk: Option<Vec<String>> = keys.cloned().collect();
    match (updated_at, pk) {
        (Some(updated_at), Some(pk)) => Ok(Some(Cursor { updated_at, pk })),
        _ => Err(PluginError::internal(
            "a page row has no key text; the page query and the row layout disagree",
        )),
    }
}
