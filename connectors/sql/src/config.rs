//! Options of the `sql` source, and the checks that need no database.

use crate::secret::SecretUrl;
use qdp_sdk::{PluginError, Result};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::time::Duration;

/// Options of the `sql` source.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// `postgres://user:${PG_PASSWORD}@host:5432/db` or
    /// `mysql://user:${MY_PASSWORD}@host:3306/db` (MariaDB too). The
    /// password is never logged nor shown in an error.
    pub url: SecretUrl,
    /// The tables to extract, each into its own `bronze_<dataset>` port.
    pub tables: Vec<TableOptions>,
    /// Rows per query page and per emitted batch at most.
    #[serde(default = "default_batch_rows")]
    pub batch_rows: usize,
    /// Re-read this window before the watermark at every pass (`0s`, `5m`,
    /// `1h`) to catch rows committed late with an older `updated_at`; the
    /// rows read again have the same `_row_id` and are dropped downstream.
    #[serde(default = "default_lookback")]
    pub lookback: String,
    /// `source_system` of the batches (default: `sql`).
    pub source_system: Option<String>,
}

/// One table to extract.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableOptions {
    /// `schema.table` (Postgres: `public` when no schema is given; MySQL:
    /// the database of the url).
    pub table: String,
    /// Name of the bronze dataset, lower_snake: rows go out as `bronze_<dataset>`.
    pub dataset: String,
    /// Columns that identify a row (in the table's own order of preference).
    pub primary_key: Vec<String>,
    /// The column the application sets on every insert and update.
    pub updated_at: String,
    /// How a soft-deleted row is marked; adds a `_deleted` column.
    pub deleted: Option<Deleted>,
    /// Columns to extract (default: all, in table order).
    pub columns: Option<Vec<String>>,
}

/// A soft-delete marker: the row is deleted when `column` is not null, or,
/// with `value`, when the column's text equals `value`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deleted {
    /// The marker column, e.g. `deleted_at` or `is_deleted`.
    pub column: String,
    /// The text of a deleted row's marker (`true` in Postgres, `1` for a MySQL `tinyint(1)`).
    pub value: Option<String>,
}

fn default_batch_rows() -> usize {
    10_000
}

fn default_lookback() -> String {
    "0s".into()
}

/// Which database the url names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

impl Options {
    /// The dialect of `url`, or a config error that shows the accepted forms.
    pub fn dialect(&self) -> Result<Dialect> {
        let u = self.url.expose();
        if u.starts_with("postgres://") || u.starts_with("postgresql://") {
            Ok(Dialect::Postgres)
        } else if u.starts_with("mysql://") || u.starts_with("mariadb://") {
            Ok(Dialect::MySql)
        } else {
            Err(PluginError::config(format!(
                "url `{}` must start with postgres:// or mysql://",
                self.url
            )))
        }
    }

    /// Refuses a url that asks for TLS: this build connects in plain text,
    /// and a server that insists would otherwise fail every retry.
    fn check_plain_text(&self) -> Result<()> {
        let query = self.url.expose().split_once('?').map_or("", |(_, q)| q);
        let wants_tls = query.split('&').any(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let (k, v) = (k.to_ascii_lowercase(), v.to_ascii_lowercase());
            (k == "sslmode" && matches!(v.as_str(), "require" | "verify-ca" | "verify-full"))
                || (k == "require_ssl" && v == "true")
        });
        if wants_tls {
            return Err(PluginError::config(format!(
                "url `{}` asks for TLS, which the sql source does not support yet; connect through a local tunnel or on a trusted network with sslmode=disable / prefer",
                self.url
            )));
        }
        Ok(())
    }

    /// The lookback window; `0s` (or `0`) is none.
    pub fn lookback(&self) -> Result<Duration> {
        let t = self.lookback.trim();
        if t.trim_end_matches(|c: char| c.is_ascii_alphabetic()) == "0" {
            return Ok(Duration::ZERO);
        }
        qdp_sdk::options::duration(t, "lookback").map_err(PluginError::config)
    }

    /// Every check that needs no database: counts, names, duplicates.
    pub fn validate(&self) -> Result<()> {
        self.dialect()?;
        self.check_plain_text()?;
        self.lookback()?;
        if self.batch_rows == 0 {
            return Err(PluginError::config("batch_rows must be at least 1"));
        }
        if self.tables.is_empty() {
            return Err(PluginError::config(
                "tables must name at least one table, e.g. tables = [{ table = \"public.clients\", dataset = \"clients\", primary_key = [\"id\"], updated_at = \"updated_at\" }]",
            ));
        }
        let mut datasets = BTreeSet::new();
        for (i, t) in self.tables.iter().enumerate() {
            let at =
                |msg: String| PluginError::config(format!("tables[{i}] (`{}`): {msg}", t.table));
            if t.table.trim().is_empty() || t.table.split('.').count() > 2 {
                return Err(at("table must be `table` or `schema.table`".into()));
            }
            if !is_lower_snake(&t.dataset) {
                return Err(at(format!(
                    "dataset `{}` must be lower_snake (a-z, 0-9, _; starting with a letter)",
                    t.dataset
                )));
            }
            if !datasets.insert(t.dataset.as_str()) {
                return Err(at(format!(
                    "dataset `{}` is used by two tables; give each table its own",
                    t.dataset
                )));
            }
            if t.primary_key.is_empty() {
                return Err(at("primary_key must name at least one column".into()));
            }
            if t.columns.as_ref().is_some_and(Vec::is_empty) {
                return Err(at(
                    "columns is empty; remove it to extract every column".into()
                ));
            }
        }
        Ok(())
    }
}

fn is_lower_snake(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts(v: serde_json::Value) -> Options {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    fn table() -> serde_json::Value {
        json!({ "table": "public.clients", "dataset": "clients", "primary_key": ["id"], "updated_at": "updated_at" })
    }

    #[test]
    fn good_options_pass_and_bad_ones_name_the_table() {
        let o = opts(json!({ "url": "postgres://u@h/db", "tables": [table()] }));
        assert!(o.validate().is_ok());
        assert_eq!(o.batch_rows, 10_000);
        assert_eq!(o.lookback().ok(), Some(Duration::ZERO));

        let mut t = table();
        t["dataset"] = json!("Clients");
        let o = opts(json!({ "url": "postgres://u@h/db", "tables": [t] }));
        let e = o.validate().err().map(|e| e.message).unwrap_or_default();
        assert!(
            e.contains("public.clients") && e.contains("lower_snake"),
            "{e}"
        );

        let o = opts(json!({ "url": "postgres://u@h/db", "tables": [table(), table()] }));
        let e = o.validate().err().map(|e| e.message).unwrap_or_default();
        assert!(e.contains("used by two tables"), "{e}");
    }

    #[test]
    fn url_scheme_and_lookback_are_checked() {
        let o = opts(json!({ "url": "sqlite://x", "tables": [table()] }));
        assert!(o.validate().is_err());
        let o = opts(json!({ "url": "mysql://root@h/db", "tables": [table()], "lookback": "5m" }));
        assert_eq!(o.dialect().ok(), Some(Dialect::MySql));
        assert_eq!(o.lookback().ok(), Some(Duration::from_secs(300)));
        let o =
            opts(json!({ "url": "mysql://root@h/db", "tables": [table()], "lookback": "soon" }));
        assert!(o.validate().is_err());
    }
}
