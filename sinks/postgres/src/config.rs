//! Options of the `postgres` sink and their checks, and the connection URL
//! whose password never reaches a log line or an error message.

use crate::quality::{Gates, QualityOptions};
use qdp_sdk::PluginError;
use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use tokio_postgres::config::{Host, SslMode};

/// Options of `postgres`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostgresOptions {
    /// Connection URL, `postgres://user:${PGPASSWORD}@host:5432/db` (or a
    /// `${file:...}` holding it). Shown only with the password as `***`.
    pub url: ConnUrl,
    /// Written to every row's `platform_worker_name` (default: the host name).
    pub platform_worker_name: Option<String>,
    /// A folder of `*.sql` files run in name order, in the write's
    /// transaction, after every write that changed silver (and once at
    /// open). They must be idempotent: `create or replace view`, `refresh
    /// materialized view`.
    pub gold_sql_dir: Option<PathBuf>,
    /// Schema of raw objects and internal datasets (default `bronze`).
    #[serde(default = "default_bronze")]
    pub bronze_schema: String,
    /// Schema of category tables and rejects (default `silver`).
    #[serde(default = "default_silver")]
    pub silver_schema: String,
    /// Schema the gold SQL writes to (default `gold`); created at open.
    #[serde(default = "default_gold")]
    pub gold_schema: String,
    /// Schema of `schema_migrations` and other bookkeeping (default `ops`).
    #[serde(default = "default_ops")]
    pub ops_schema: String,
    /// Longest wait for a connection, e.g. `10s` (default `10s`).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: String,
    /// Data-quality gates of the loads (`[sinks.<id>.quality]`); see the
    /// `quality` module. Every load is recorded in `ops.load_quality`.
    #[serde(default)]
    pub quality: QualityOptions,
}

fn default_bronze() -> String {
    "bronze".into()
}
fn default_silver() -> String {
    "silver".into()
}
fn default_gold() -> String {
    "gold".into()
}
fn default_ops() -> String {
    "ops".into()
}
fn default_connect_timeout() -> String {
    "10s".into()
}

/// A connection URL. `Debug` prints `***`; use [`Checked::shown_url`] to print it.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct ConnUrl(pub String);

impl fmt::Debug for ConnUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The four schema names, already checked to be plain identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schemas {
    /// Raw objects and datasets.
    pub bronze: String,
    /// Category tables and rejects.
    pub silver: String,
    /// Gold views.
    pub gold: String,
    /// Bookkeeping.
    pub ops: String,
}

/// Options after their checks.
#[derive(Clone)]
pub struct Checked {
    /// Parsed connection settings (holds the password).
    pub pg: tokio_postgres::Config,
    /// The URL as it may be shown: password replaced by `***`.
    pub shown_url: String,
    /// `host:port` of the first host, for errors.
    pub endpoint: String,
    /// The password, to scrub from any text leaving the sink.
    secret: Option<String>,
    /// Worker name stamped on rows.
    pub worker: String,
    /// Gold SQL folder.
    pub gold_sql_dir: Option<PathBuf>,
    /// Schema names.
    pub schemas: Schemas,
    /// Data-quality gates.
    pub quality: Arc<Gates>,
}

impl fmt::Debug for Checked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checked")
            .field("url", &self.shown_url)
            .field("worker", &self.worker)
            .field("gold_sql_dir", &self.gold_sql_dir)
            .field("schemas", &self.schemas)
            .finish()
    }
}

impl Checked {
    /// `text` with the password replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        match &self.secret {
            Some(s) if !s.is_empty() => text.replace(s.as_str(), "***"),
            _ => text.to_string(),
        }
    }
}

/// Checks everything that can be checked without the server.
pub fn check(o: PostgresOptions) -> Result<Checked, PluginError> {
    let url = o.url.0.trim();
    if url.is_empty() {
        return Err(PluginError::config("url must not be empty"));
    }
    let mut pg = tokio_postgres::Config::from_str(url).map_err(|e| {
        // The parser's message may quote a piece of the URL: scrub the user-info part.
        let msg = scrub_userinfo(url, &e.to_string());
        PluginError::config(format!("url is not a Postgres connection URL: {msg}"))
    })?;
    if pg.get_hosts().is_empty() {
        return Err(PluginError::config("url has no host"));
    }
    if pg.get_ssl_mode() == SslMode::Require {
        // Refused here rather than failing at every connect: this build
        // connects without TLS (a private network or a local socket).
        return Err(PluginError::config(
            "sslmode=require: this build of the postgres sink has no TLS; use a private network, \
             a TLS-terminating proxy on localhost, or sslmode=prefer/disable",
        ));
    }
    let timeout = qdp_sdk::options::duration(&o.connect_timeout, "connect_timeout")
        .map_err(PluginError::config)?;
    pg.connect_timeout(timeout);
    if pg.get_application_name().is_none() {
        pg.application_name("qdp-sink-postgres");
    }
    let secret = pg
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let schemas = Schemas {
        bronze: schema_name(o.bronze_schema, "bronze_schema")?,
        silver: schema_name(o.silver_schema, "silver_schema")?,
        gold: schema_name(o.gold_schema, "gold_schema")?,
        ops: schema_name(o.ops_schema, "ops_schema")?,
    };
    let worker = match o.platform_worker_name {
        Some(w) if w.trim().is_empty() => {
            return Err(PluginError::config(
                "platform_worker_name must not be empty",
            ));
        }
        Some(w) => w,
        None => host_name(),
    };
    let quality = Arc::new(crate::quality::options::check(
        o.quality,
        o.gold_sql_dir.is_some(),
    )?);
    Ok(Checked {
        quality,
        shown_url: shown_url(&pg),
        endpoint: endpoint(&pg),
        pg,
        secret,
        worker,
        gold_sql_dir: o.gold_sql_dir,
        schemas,
    })
}

fn schema_name(name: String, key: &str) -> Result<String, PluginError> {
    if crate::ident::is_plain(&name) {
        Ok(name)
    } else {
        Err(PluginError::config(format!(
            "{key} must be lower-case letters, digits and `_`, not starting with a digit"
        ))
        .with_context(key, name))
    }
}

/// `postgres://user:***@host:port/db`, built from the parsed settings so
/// nothing of the original text (which may hold the password) is echoed.
fn shown_url(pg: &tokio_postgres::Config) -> String {
    let mut out = String::from("postgres://");
    if let Some(u) = pg.get_user() {
        out.push_str(u);
        if pg.get_password().is_some() {
            out.push_str(":***");
        }
        out.push('@');
    }
    out.push_str(&endpoint(pg));
    if let Some(db) = pg.get_dbname() {
        out.push('/');
        out.push_str(db);
    }
    out
}

/// `host:port` of the first host (`5432` when no port is given).
fn endpoint(pg: &tokio_postgres::Config) -> String {
    let host = match pg.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => String::new(),
    };
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

/// Replaces the user-info part of `url` (between `://` and `@`) in `text`.
fn scrub_userinfo(url: &str, text: &str) -> String {
    let Some(rest) = url.split_once("://").map(|(_, r)| r) else {
        return "(message hidden: it may quote the password)".into();
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    match authority.rsplit_once('@') {
        Some((userinfo, _)) if !userinfo.is_empty() => text.replace(userinfo, "***"),
        _ => text.to_string(),
    }
}

/// The machine's host name (Linux), or `unknown`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(url: &str) -> PostgresOptions {
        PostgresOptions {
            url: ConnUrl(url.into()),
            platform_worker_name: None,
            gold_sql_dir: None,
            bronze_schema: default_bronze(),
            silver_schema: default_silver(),
            gold_schema: default_gold(),
            ops_schema: default_ops(),
            connect_timeout: default_connect_timeout(),
            quality: QualityOptions::default(),
        }
    }

    #[test]
    fn the_password_is_shown_as_stars() {
        let c = check(opts("postgres://qdp:hunter2@db.example:6543/warehouse"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.shown_url, "postgres://qdp:***@db.example:6543/warehouse");
        assert_eq!(c.endpoint, "db.example:6543");
        let dbg = format!("{c:?} {:?}", opts("postgres://qdp:hunter2@db/x"));
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert_eq!(c.redact("auth failed for hunter2"), "auth failed for ***");
        assert!(!c.worker.is_empty());
    }

    #[test]
    fn bad_urls_and_names_are_config_errors_without_the_password() {
        let e = check(opts("postgres://qdp:hunter2@db:notaport/x")).err();
        let text = format!("{e:?}");
        assert!(
            text.contains("Config") && !text.contains("hunter2"),
            "{text}"
        );
        assert!(check(opts("")).is_err());
        assert!(check(opts("postgres://db/x?sslmode=require")).is_err());
        assert!(check(opts("postgres://db/x?sslmode=disable")).is_ok());
        let mut o = opts("postgres://db/x");
        o.silver_schema = "Silver; drop".into();
        assert!(check(o).is_err());
        let mut o = opts("postgres://db/x");
        o.connect_timeout = "soon".into();
        assert!(check(o).is_err());
    }

    #[test]
    fn a_url_without_port_uses_5432() {
        let c = check(opts("postgres://postgres@127.0.0.1/qdp")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.endpoint, "127.0.0.1:5432");
        assert_eq!(c.shown_url, "postgres://postgres@127.0.0.1:5432/qdp");
    }
}
