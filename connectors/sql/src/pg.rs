//! PostgreSQL through tokio-postgres.

use crate::query::Query;
use crate::render;
use crate::rows::RawRow;
use crate::secret::SecretUrl;
use crate::table::ColumnInfo;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use qdp_sdk::{PluginError, Result};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls, Row};

/// A connection to one Postgres database.
pub struct Pg {
    client: Client,
    url: SecretUrl,
}

/// A driver error as a plugin error: bad credentials, a missing database
/// and SQL the database refuses are config errors; the rest (network,
/// server restarts, serialization failures) are retried.
fn error(url: &SecretUrl, what: &str, e: &tokio_postgres::Error) -> PluginError {
    let detail = match e.as_db_error() {
        Some(db) => {
            let mut t = format!(
                "{}: {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            );
            if let Some(h) = db.hint() {
                t.push_str(&format!("; hint: {h}"));
            }
            t
        }
        None => e.to_string(),
    };
    let text = url.redact(&format!("{what}: {detail}"));
    let config = e.code().is_some_and(|c| {
        [
            SqlState::INVALID_PASSWORD,
            SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
            SqlState::INVALID_CATALOG_NAME,
            SqlState::INSUFFICIENT_PRIVILEGE,
            SqlState::UNDEFINED_TABLE,
            SqlState::UNDEFINED_COLUMN,
            SqlState::SYNTAX_ERROR,
        ]
        .contains(c)
    });
    if config {
        PluginError::config(text)
    } else {
        PluginError::external(text)
    }
}

impl Pg {
    /// Connects and sets the session so every text is stable (UTC, ISO dates, hex bytes).
    pub async fn connect(url: &SecretUrl) -> Result<Self> {
        let (client, conn) = tokio_postgres::connect(url.expose(), NoTls)
            .await
            .map_err(|e| error(url, &format!("cannot connect to {url}"), &e))?;
        let shown = url.to_string();
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::warn!(url = %shown, error = %e, "postgres connection ended");
            }
        });
        let pg = Self {
            client,
            url: url.clone(),
        };
        pg.execute(
            "SET TIME ZONE 'UTC'; SET DateStyle TO ISO, YMD; SET bytea_output TO hex; SET IntervalStyle TO postgres",
        )
        .await?;
        Ok(pg)
    }

    /// Runs statements without results.
    pub async fn execute(&self, sql: &str) -> Result<()> {
        self.client
            .batch_execute(sql)
            .await
            .map_err(|e| error(&self.url, sql, &e))
    }

    /// Columns of `schema.table`, or `None` when there is no such table.
    pub async fn describe(&self, schema: &str, table: &str) -> Result<Option<Vec<ColumnInfo>>> {
        let name = format!(
            "\"{}\".\"{}\"",
            schema.replace('"', "\"\""),
            table.replace('"', "\"\"")
        );
        let exists = self
            .client
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL, coalesce(has_table_privilege(to_regclass($1), 'SELECT'), false)",
                &[&name],
            )
            .await
            .map_err(|e| error(&self.url, "reading the catalogue", &e))?;
        if !exists.get::<_, bool>(0) {
            return Ok(None);
        }
        if !exists.get::<_, bool>(1) {
            return Err(PluginError::config(format!(
                "table `{schema}.{table}` exists but this user may not read it; GRANT SELECT ON {name} TO the source's user"
            ))
            .with_context("table", format!("{schema}.{table}")));
        }
        let rows = self
            .client
            .query(
                "SELECT a.attname::text, t.typname::text, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull \
                 FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
                 WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                &[&name],
            )
            .await
            .map_err(|e| error(&self.url, "reading the catalogue", &e))?;
        Ok(Some(
            rows.iter()
                .map(|r| ColumnInfo {
                    name: r.get(0),
                    base_type: r.get(1),
                    full_type: r.get(2),
                    nullable: r.get(3),
                })
                .collect(),
        ))
    }

    /// Tables the user can see, to suggest one when a name is wrong.
    pub async fn tables(&self) -> Result<Vec<String>> {
        let rows = self
            .client
            .query(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables \
                 WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 LIMIT 50",
                &[],
            )
            .await
            .map_err(|e| error(&self.url, "listing tables", &e))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Runs a page query; `rendered` columns first, then `keys` key texts.
    pub async fn rows(&self, q: &Query, rendered: usize) -> Result<Vec<RawRow>> {
        let params: Vec<&(dyn ToSql + Sync)> =
            q.params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self
            .client
            .query(q.sql.as_str(), &params)
            .await
            .map_err(|e| error(&self.url, "reading rows", &e))?;
        Ok(rows
            .iter()
            .map(|r| RawRow {
                rendered: (0..rendered).map(|i| value(r, i)).collect(),
                keys: (rendered..r.len())
                    .map(|i| r.try_get::<_, Option<String>>(i).ok().flatten())
                    .collect(),
            })
            .collect())
    }
}

/// The text of column `i` of `row`.
fn value(row: &Row, i: usize) -> Result<Option<String>, String> {
    fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
        row: &'a Row,
        i: usize,
        f: impl Fn(T) -> String,
    ) -> Result<Option<String>, String> {
        row.try_get::<_, Option<T>>(i)
            .map(|v| v.map(f))
            .map_err(|e| e.to_string())
    }
    let ty = row.columns()[i].type_().clone();
    match ty {
        Type::BOOL => get(row, i, |v: bool| v.to_string()),
        Type::INT2 => get(row, i, |v: i16| v.to_string()),
        Type::INT4 => get(row, i, |v: i32| v.to_string()),
        Type::INT8 => get(row, i, |v: i64| v.to_string()),
        Type::OID => get(row, i, |v: u32| v.to_string()),
        Type::FLOAT4 => get(row, i, render::float32),
        Type::FLOAT8 => get(row, i, render::float),
        Type::BYTEA => get(row, i, |v: &[u8]| render::hex(v)),
        Type::TIMESTAMPTZ => get(row, i, |v: DateTime<Utc>| render::instant(v)),
        Type::TIMESTAMP => get(row, i, render::naive_utc),
        Type::DATE => get(row, i, |v: NaiveDate| render::date(v)),
        Type::TIME => get(row, i, |v: NaiveTime| render::time(v)),
        _ => get(row, i, |v: String| v),
    }
}
