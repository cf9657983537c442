//! The `clickhouse` sink: finds the server version at open, creates and
//! evolves one table per category on first sight, and writes each group of
//! batches of one table and schema as one RowBinary INSERT.

use crate::config::{self, Checked, ClickHouseOptions};
use crate::conn::{Conn, DUPLICATE_COLUMN, code};
use crate::ddl::{
    self, Flavor, INGESTED, Layout, ORIGIN, PRODUCER, ROW, SEQ, ident, literal, qualified,
};
use crate::retention;
use crate::rowbinary::{Column, Target, normalize, string};
use qdp_sdk::arrow::array::ArrayRef;
use qdp_sdk::arrow::datatypes::SchemaRef;
use qdp_sdk::{Batch, Context, Describe, PluginError, Result, Sink};
use std::collections::{HashMap, HashSet};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Target size of one compressed chunk of an INSERT body.
const CHUNK_BYTES: usize = 1 << 20;

/// The sink.
pub struct ClickHouseSink {
    c: Checked,
    conn: Option<Conn>,
    flavor: Flavor,
    tables: HashMap<String, TableState>,
    last_retention: Option<Instant>,
}

/// What the sink knows of a table it has written to.
struct TableState {
    /// `(name, type)` in table order.
    columns: Vec<(String, String)>,
    /// Sorting key columns.
    key: HashSet<String>,
}

impl TableState {
    fn has(&self, name: &str) -> bool {
        self.columns.iter().any(|(n, _)| n == name)
    }

    fn ty(&self, name: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_str())
    }
}

impl Describe for ClickHouseSink {
    type Options = ClickHouseOptions;
    const NAME: &'static str = "clickhouse";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CAPABILITIES: u64 = qdp_sdk::capabilities::IDEMPOTENT_WRITE;
}

/// One batch prepared for encoding: its columns in INSERT order, and the
/// bytes every row ends with (the sink's own columns).
struct Prepared<'a> {
    columns: Vec<Column<'a>>,
    tail: Vec<u8>,
    row_index: bool,
    rows: usize,
}

impl Prepared<'_> {
    /// Average encoded bytes per row (an upper bound).
    fn bytes_per_row(&self) -> usize {
        let total: usize = self
            .columns
            .iter()
            .map(|c| c.size_hint(self.rows))
            .sum::<usize>()
            + (self.tail.len() + 4) * self.rows;
        total.div_ceil(self.rows.max(1)).max(1)
    }

    fn encode(&self, from: usize, to: usize, bytes_per_row: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes_per_row * (to - from));
        for i in from..to {
            for c in &self.columns {
                c.write(i, &mut out);
            }
            out.extend_from_slice(&self.tail);
            if self.row_index {
                out.extend_from_slice(&(i as u32).to_le_bytes());
            }
        }
        out
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or_default()
}

impl ClickHouseSink {
    fn table_name(&self, category: &str) -> String {
        self.c.o.table.replace("{category}", category)
    }

    fn db(&self) -> &str {
        &self.c.o.database
    }

    fn conn(&self) -> Result<&Conn> {
        self.conn
            .as_ref()
            .ok_or_else(|| PluginError::internal("write before open"))
    }

    async fn connect(&mut self) -> Result<()> {
        let conn = Conn::new(&self.c);
        let version = conn
            .rows("SELECT version()")
            .await?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .unwrap_or_default();
        self.flavor = Flavor::from_version(&version);
        conn.execute(
            &format!("CREATE DATABASE IF NOT EXISTS {}", ident(self.db())),
            None,
        )
        .await?;
        tracing::info!(
            url = conn.url(),
            server_version = version.as_str(),
            datetime64 = self.flavor.datetime64,
            database = self.db(),
            "connected to ClickHouse"
        );
        self.conn = Some(conn);
        self.tables.clear();
        Ok(())
    }

    /// Runs retention when it is due; a failure is logged, not fatal: data
    /// is written either way and the next check tries again.
    async fn retention_if_due(&mut self) {
        let Some(days) = self.c.o.retention_days else {
            return;
        };
        if self
            .last_retention
            .is_some_and(|t| t.elapsed() < self.c.retention_check)
        {
            return;
        }
        let Ok(conn) = self.conn() else { return };
        let history = self.c.o.history.as_ref();
        match retention::run(conn, self.db(), days, self.flavor, history).await {
            Ok(_) => self.last_retention = Some(Instant::now()),
            Err(e) => tracing::warn!(error = %e, "retention failed; will retry at the next check"),
        }
    }

    /// Reads a table's columns and sorting key, and whether its view matches.
    async fn load(&self, table: &str) -> Result<(TableState, Vec<String>)> {
        let conn = self.conn()?;
        let view = ddl::view_name(table);
        let rows = conn
            .rows(&format!(
                "SELECT table, name, type FROM system.columns WHERE database = {} AND table IN ({}, {})",
                literal(self.db()),
                literal(table),
                literal(&view)
            ))
            .await?;
        let mut columns = Vec::new();
        let mut view_columns = Vec::new();
        for r in rows {
            if let [t, n, ty] = r.as_slice() {
                if t == table {
                    columns.push((n.clone(), ty.clone()));
                } else {
                    view_columns.push(n.clone());
                }
            }
        }
        let key = conn
            .rows(&format!(
                "SELECT sorting_key FROM system.tables WHERE database = {} AND name = {}",
                literal(self.db()),
                literal(table)
            ))
            .await?
            .into_iter()
            .flatten()
            .flat_map(|k| {
                k.split(',')
                    .map(|c| c.trim().trim_matches('`').to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        Ok((TableState { columns, key }, view_columns))
    }

    /// Creates the table on first sight, adds columns the batch brings, and
    /// keeps the latest-value view in step with the table's columns.
    async fn ensure_table(
        &mut self,
        table: &str,
        category: &str,
        schema: &SchemaRef,
    ) -> Result<()> {
        let plan = ddl::plan(schema, ddl::keys(schema, category).as_ref(), self.flavor);
        let known = self.tables.contains_key(table);
        if !known {
            let sql = ddl::create_table(self.db(), table, &plan);
            self.conn()?.execute(&sql, Some(table)).await?;
            tracing::debug!(table, sql = sql.as_str(), "table ensured");
        }
        let missing: Vec<_> = schema
            .fields()
            .iter()
            .filter(|f| !ddl::is_reserved(f.name()))
            .filter(|f| self.tables.get(table).is_none_or(|s| !s.has(f.name())))
            .cloned()
            .collect();
        if known && missing.is_empty() {
            return Ok(());
        }
        let (mut state, mut view_columns) = self.load(table).await?;
        let mut altered = false;
        for f in missing.iter().filter(|f| !state.has(f.name())) {
            let sql = ddl::add_column(self.db(), table, f, self.flavor);
            match self.conn()?.execute(&sql, Some(table)).await {
                Ok(()) => {
                    tracing::info!(
                        table,
                        column = f.name().as_str(),
                        sql = sql.as_str(),
                        "column added"
                    );
                    altered = true;
                }
                // Another writer added it first.
                Err(e) if code(&e.message) == Some(DUPLICATE_COLUMN) => altered = true,
                Err(e) => return Err(e.with_context("column", f.name())),
            }
        }
        if altered {
            (state, view_columns) = self.load(table).await?;
        }
        if let (
            true,
            Layout::Category {
                group_by,
                timestamp,
            },
        ) = (self.c.o.latest_view, &plan.layout)
        {
            let names: Vec<String> = state.columns.iter().map(|(n, _)| n.clone()).collect();
            let usable = group_by.iter().all(|g| state.has(g))
                && timestamp.as_ref().is_none_or(|t| state.has(t))
                && state.has(INGESTED);
            if usable && view_columns != names {
                let conn = self.conn()?;
                let view = qualified(self.db(), &ddl::view_name(table));
                conn.execute(&format!("DROP TABLE IF EXISTS {view}"), Some(table))
                    .await?;
                let sql =
                    ddl::latest_view(self.db(), table, &names, group_by, timestamp.as_deref());
                conn.execute(&sql, Some(table)).await?;
                tracing::info!(
                    table,
                    view = ddl::view_name(table).as_str(),
                    "latest-value view (re)created"
                );
            }
        }
        self.tables.insert(table.to_string(), state);
        Ok(())
    }

    /// Writes one group of batches of one table and schema as one INSERT.
    async fn insert(
        &self,
        table: &str,
        schema: &SchemaRef,
        group: &[&Batch],
        ingested: i64,
    ) -> Result<()> {
        let state = self
            .tables
            .get(table)
            .ok_or_else(|| PluginError::internal("table not ensured before insert"))?;
        let fields: Vec<usize> = (0..schema.fields().len())
            .filter(|&i| !ddl::is_reserved(schema.field(i).name()))
            .collect();
        let generic = state.has(SEQ) && state.has(ORIGIN) && state.has(PRODUCER) && state.has(ROW);
        let mut names: Vec<String> = fields
            .iter()
            .map(|&i| ident(schema.field(i).name()))
            .collect();
        let stamped = state.has(INGESTED);
        if stamped {
            names.push(ident(INGESTED));
        }
        if generic {
            names.extend([ORIGIN, PRODUCER, SEQ, ROW].map(ident));
        }
        let bad = |column: &str, why: String| {
            PluginError::config(format!(
                "cannot write column `{column}` to table `{table}`: {why}"
            ))
            .with_context("table", table)
            .with_context("column", column)
        };
        // Normalized arrays live here while the encoders borrow them.
        let mut arrays: Vec<Vec<ArrayRef>> = Vec::with_capacity(group.len());
        for b in group {
            let mut cols = Vec::with_capacity(fields.len());
            for &i in &fields {
                let name = schema.field(i).name();
                cols.push(normalize(b.data.column(i)).map_err(|e| bad(name, e))?);
            }
            arrays.push(cols);
        }
        let mut prepared = Vec::with_capacity(group.len());
        for (b, cols) in group.iter().zip(&arrays) {
            let mut columns = Vec::with_capacity(cols.len());
            for (&i, a) in fields.iter().zip(cols) {
                let name = schema.field(i).name();
                let ty = state
                    .ty(name)
                    .ok_or_else(|| bad(name, "the table has no such column".into()))?;
                let target = Target::parse(ty, state.key.contains(name));
                columns.push(Column::new(a.as_ref(), &target).map_err(|e| bad(name, e))?);
            }
            let mut tail = Vec::new();
            if stamped {
                tail.extend_from_slice(&ingested.to_le_bytes());
            }
            if generic {
                string(b.meta.origin.as_bytes(), &mut tail);
                string(b.meta.producer.as_bytes(), &mut tail);
                tail.extend_from_slice(&b.meta.seq.to_le_bytes());
            }
            prepared.push(Prepared {
                columns,
                tail,
                row_index: generic,
                rows: b.data.num_rows(),
            });
        }
        let sql = format!(
            "INSERT INTO {} ({}) FORMAT RowBinary",
            qualified(self.db(), table),
            names.join(", ")
        );
        let mut insert = self.conn()?.insert(sql, table);
        for p in &prepared {
            let per_row = p.bytes_per_row();
            let step = (CHUNK_BYTES / per_row).max(1);
            let mut from = 0;
            while from < p.rows {
                let to = (from + step).min(p.rows);
                insert.send(p.encode(from, to, per_row)).await?;
                from = to;
            }
        }
        insert.end().await
    }
}

impl Sink for ClickHouseSink {
    fn new(o: ClickHouseOptions, _: &Context) -> Result<Self> {
        Ok(Self {
            c: config::check(o)?,
            conn: None,
            flavor: Flavor::from_version(""),
            tables: HashMap::new(),
            last_retention: None,
        })
    }

    async fn open(&mut self) -> Result<()> {
        self.connect().await?;
        self.last_retention = None;
        self.retention_if_due().await;
        Ok(())
    }

    async fn write(&mut self, batches: &[Batch]) -> Result<()> {
        if batches.iter().all(|b| b.data.num_rows() == 0) {
            return Ok(());
        }
        if self.conn.is_none() {
            self.connect().await?;
        }
        self.retention_if_due().await;
        // Group by table and schema, keeping first-seen order.
        let mut groups: Vec<(String, SchemaRef, Vec<&Batch>)> = Vec::new();
        // Batches of one table share a category unless the template drops
        // `{category}`; the first one's decides the table's design.
        for b in batches.iter().filter(|b| b.data.num_rows() > 0) {
            let table = self.table_name(&b.meta.category);
            let schema = b.data.schema();
            match groups
                .iter_mut()
                .find(|(t, s, _)| *t == table && s.fields() == schema.fields())
            {
                Some(g) => g.2.push(b),
                None => groups.push((table, schema, vec![b])),
            }
        }
        // One stamp per write: a replayed write gets a later one, and its
        // copies win (they hold the same values).
        let ingested = now_ns();
        for (table, schema, group) in &groups {
            self.ensure_table(table, &group[0].meta.category, schema)
                .await?;
            if let Err(e) = self.insert(table, schema, group, ingested).await {
                // The table may have changed under us (or the server lost
                // it): read it again next time.
                self.tables.remove(table);
                return Err(e);
            }
        }
        Ok(())
    }

    async fn shutdown(&mut self) -> Result<()> {
        self.conn = None;
        self.tables.clear();
        Ok(())
    }
}
