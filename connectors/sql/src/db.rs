//! One connection to either database, behind the few operations a pass needs.

use crate::config::{Dialect, Options};
use crate::my::My;
use crate::pg::Pg;
use crate::query::{self, Range};
use crate::rows::RawRow;
use crate::table::{self, TableSpec};
use qdp_sdk::{PluginError, Result};
use std::time::Duration;

/// A connection.
pub enum Db {
    /// PostgreSQL.
    Pg(Pg),
    /// MySQL or MariaDB.
    My(My),
}

impl Db {
    /// Connects to the database of `o.url`.
    pub async fn connect(o: &Options) -> Result<Self> {
        Ok(match o.dialect()? {
            Dialect::Postgres => Db::Pg(Pg::connect(&o.url).await?),
            Dialect::MySql => Db::My(My::connect(&o.url).await?),
        })
    }

    fn dialect(&self) -> Dialect {
        match self {
            Db::Pg(_) => Dialect::Postgres,
            Db::My(_) => Dialect::MySql,
        }
    }

    /// Checks every configured table against the catalogue; the first
    /// missing table or column is a config error naming it and the fix.
    pub async fn resolve(&mut self, o: &Options) -> Result<Vec<TableSpec>> {
        let lookback = o.lookback()?;
        let mut specs = Vec::with_capacity(o.tables.len());
        for (i, t) in o.tables.iter().enumerate() {
            let default_schema = match self {
                Db::Pg(_) => Some("public".to_string()),
                Db::My(m) => m.database.clone(),
            };
            let (schema, name) = table::split_name(&t.table, default_schema.as_deref())?;
            let catalogue = match self {
                Db::Pg(p) => p.describe(&schema, &name).await?,
                Db::My(m) => m.describe(&schema, &name).await?,
            };
            let known = if catalogue.is_none() {
                match self {
                    Db::Pg(p) => p.tables().await?,
                    Db::My(m) => m.tables().await?,
                }
            } else {
                Vec::new()
            };
            let spec = table::resolve(i, t, &schema, &name, catalogue, &known)?;
            if lookback > Duration::ZERO
                && !matches!(
                    spec.updated_at.base_type.as_str(),
                    "timestamptz" | "timestamp" | "date" | "datetime"
                )
            {
                return Err(PluginError::config(format!(
                    "tables[{i}]: lookback needs a date or timestamp `updated_at`, and `{}` of `{}` is {}; set lookback = \"0s\"",
                    spec.updated_at.name,
                    spec.qualified(),
                    spec.updated_at.full_type
                )));
            }
            specs.push(spec);
        }
        Ok(specs)
    }

    /// Opens the read-only, repeatable-read transaction a table is read in.
    pub async fn begin(&mut self) -> Result<()> {
        match self {
            Db::Pg(p) => {
                p.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await
            }
            Db::My(m) => {
                m.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    .await?;
                m.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                    .await
            }
        }
    }

    /// Ends the transaction.
    pub async fn commit(&mut self) -> Result<()> {
        match self {
            Db::Pg(p) => p.execute("COMMIT").await,
            Db::My(m) => m.execute("COMMIT").await,
        }
    }

    /// One page of rows of `t` in `range`.
    pub async fn page(
        &mut self,
        t: &TableSpec,
        range: Range<'_>,
        limit: usize,
    ) -> Result<Vec<RawRow>> {
        let q = query::page(self.dialect(), t, range, limit);
        self.run(t, &q).await
    }

    /// The rows of `t` whose `updated_at` is NULL.
    pub async fn nulls(&mut self, t: &TableSpec) -> Result<Vec<RawRow>> {
        let q = query::nulls(self.dialect(), t);
        self.run(t, &q).await
    }

    async fn run(&mut self, t: &TableSpec, q: &query::Query) -> Result<Vec<RawRow>> {
        let rendered = t.rendered();
        match self {
            Db::Pg(p) => p.rows(q, rendered.len()).await,
            Db::My(m) => m.rows(q, &rendered).await,
        }
        .map_err(|e| e.with_context("table", t.qualified()))
    }

    /// Closes the connection.
    pub async fn close(self) {
        match self {
            Db::Pg(_) => {}
            Db::My(m) => m.close().await,
        }
    }
}
