//! MySQL and MariaDB through mysql_async (binary protocol, so values come
//! typed and are rendered the same way as Postgres values).

use crate::query::{Query, mysql_is_binary};
use crate::render;
use crate::rows::RawRow;
use crate::secret::SecretUrl;
use crate::table::ColumnInfo;
use chrono::NaiveDate;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Params, Row, Value};
use qdp_sdk::{PluginError, Result};

/// A connection to one MySQL/MariaDB server.
pub struct My {
    conn: Conn,
    url: SecretUrl,
    /// The database of the url: the schema of unqualified table names.
    pub database: Option<String>,
}

/// Server codes that mean the configuration is wrong: access denied,
/// unknown database, table or column, SQL syntax.
const CONFIG_CODES: [u16; 7] = [1044, 1045, 1049, 1142, 1146, 1054, 1064];

fn error(url: &SecretUrl, what: &str, e: &mysql_async::Error) -> PluginError {
    let text = url.redact(&format!("{what}: {e}"));
    match e {
        mysql_async::Error::Server(s) if CONFIG_CODES.contains(&s.code) => {
            PluginError::config(text)
        }
        mysql_async::Error::Url(_) => PluginError::config(text),
        _ => PluginError::external(text),
    }
}

impl My {
    /// Connects and sets the session to UTC so `TIMESTAMP` columns read as UTC.
    pub async fn connect(url: &SecretUrl) -> Result<Self> {
        let raw = url.expose();
        let raw = match raw.strip_prefix("mariadb://") {
            Some(rest) => format!("mysql://{rest}"),
            None => raw.to_string(),
        };
        let opts = Opts::from_url(&raw).map_err(|e| {
            PluginError::config(url.redact(&format!("url {url} is not a MySQL url: {e}")))
        })?;
        let database = opts.db_name().map(str::to_string);
        let mut conn = Conn::new(opts)
            .await
            .map_err(|e| error(url, &format!("cannot connect to {url}"), &e))?;
        conn.query_drop("SET time_zone = '+00:00'")
            .await
            .map_err(|e| error(url, "setting the session time zone", &e))?;
        Ok(Self {
            conn,
            url: url.clone(),
            database,
        })
    }

    /// Runs one statement without results.
    pub async fn execute(&mut self, sql: &str) -> Result<()> {
        self.conn
            .query_drop(sql)
            .await
            .map_err(|e| error(&self.url, sql, &e))
    }

    /// Columns of `schema.table`, or `None` when there is no such table.
    pub async fn describe(&mut self, schema: &str, table: &str) -> Result<Option<Vec<ColumnInfo>>> {
        let rows: Vec<Row> = self
            .conn
            .exec(
                "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (schema, table),
            )
            .await
            .map_err(|e| error(&self.url, "reading the catalogue", &e))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let text = |r: &Row, i: usize| -> String {
            match r.as_ref(i) {
                Some(Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
                _ => String::new(),
            }
        };
        Ok(Some(
            rows.iter()
                .map(|r| ColumnInfo {
                    name: text(r, 0),
                    base_type: text(r, 1).to_ascii_lowercase(),
                    full_type: text(r, 2).to_ascii_lowercase(),
                    nullable: text(r, 3) == "YES",
                })
                .collect(),
        ))
    }

    /// Tables the user can see, to suggest one when a name is wrong.
    pub async fn tables(&mut self) -> Result<Vec<String>> {
        let rows: Vec<Row> = self
            .conn
            .query(
                "SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') \
                 ORDER BY 1 LIMIT 50",
            )
            .await
            .map_err(|e| error(&self.url, "listing tables", &e))?;
        Ok(rows
            .iter()
            .filter_map(|r| match r.as_ref(0) {
                Some(Value::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
                _ => None,
            })
            .collect())
    }

    /// Runs a page query: `columns` rendered first, then the key texts.
    pub async fn rows(&mut self, q: &Query, columns: &[&ColumnInfo]) -> Result<Vec<RawRow>> {
        let params = if q.params.is_empty() {
            Params::Empty
        } else {
            Params::Positional(q.params.iter().map(|p| Value::from(p.as_str())).collect())
        };
        let rows: Vec<Row> = self
            .conn
            .exec(q.sql.as_str(), params)
            .await
            .map_err(|e| error(&self.url, "reading rows", &e))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                // `Row::unwrap` hands over the values (none was taken), it does not panic on data.
                let values = r.unwrap();
                let (rendered, keys) = values.split_at(columns.len().min(values.len()));
                RawRow {
                    rendered: columns
                        .iter()
                        .zip(rendered)
                        .map(|(c, v)| value(c, v))
                        .collect(),
                    keys: keys
                        .iter()
                        .map(|v| match v {
                            Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
                            Value::NULL => None,
                            other => Some(other.as_sql(true)),
                        })
                        .collect(),
                }
            })
            .collect())
    }

    /// Closes the connection politely.
    pub async fn close(self) {
        let _ = self.conn.disconnect().await;
    }
}

/// The text of one value of column `c`.
fn value(c: &ColumnInfo, v: &Value) -> Result<Option<String>, String> {
    Ok(Some(match v {
        Value::NULL => return Ok(None),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => render::float32(*f),
        Value::Double(d) => render::float(*d),
        Value::Date(y, mo, d, h, mi, s, us) => {
            let day = NaiveDate::from_ymd_opt(i32::from(*y), u32::from(*mo), u32::from(*d));
            let at = day.and_then(|day| {
                day.and_hms_micro_opt(u32::from(*h), u32::from(*mi), u32::from(*s), *us)
            });
            match (c.base_type.as_str(), day, at) {
                ("date", Some(day), _) => render::date(day),
                (_, _, Some(at)) => render::naive_utc(at),
                // MySQL's zero dates have no RFC 3339 form: keep MySQL's text.
                _ => format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
            }
        }
        Value::Time(neg, days, h, mi, s, us) => {
            let hours = days * 24 + u32::from(*h);
            let sign = if *neg { "-" } else { "" };
            let frac = if *us > 0 {
                format!(".{us:06}")
            } else {
                String::new()
            };
            format!("{sign}{hours:02}:{mi:02}:{s:02}{frac}")
        }
        Value::Bytes(b) if c.base_type == "bit" => {
            let n = b.iter().fold(0u128, |acc, x| (acc << 8) | u128::from(*x));
            n.to_string()
        }
        Value::Bytes(b) if mysql_is_binary(c) => render::hex(b),
        Value::Bytes(b) => String::from_utf8(b.clone())
            .map_err(|_| format!("not valid UTF-8 (type {})", c.full_type))?,
    }))
}
