//! Options of the `clickhouse` sink, and their checks.

use qdp_sdk::PluginError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Options of `clickhouse`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseOptions {
    /// HTTP(S) endpoint of the server, e.g. `http://127.0.0.1:8123`. Put
    /// credentials in `user`/`password`, never in the URL, so the URL can be
    /// shown in errors and logs.
    pub url: String,
    /// Database the tables go to; created if missing (default `qdp`).
    #[serde(default = "default_database")]
    pub database: String,
    /// User name (default: the server's `default` user).
    pub user: Option<String>,
    /// Password of `user`; use `${ENV}` in the pipeline file. Sent in a
    /// request header, never logged and never part of an error message.
    pub password: Option<Secret>,
    /// Table name per category; `{category}` is replaced by the batch's
    /// category (default `{category}`, so reject rows go to
    /// `<category>_unqualified`).
    #[serde(default = "default_table")]
    pub table: String,
    /// Keep this many days: whole day partitions strictly older than
    /// today (UTC) minus `retention_days` are dropped. Partition drops work
    /// on every ClickHouse version, unlike TTL. Unset keeps everything.
    pub retention_days: Option<u32>,
    /// The Iceberg history that must hold a day before retention drops it:
    /// the `iceberg` sink's `catalog_uri`, `warehouse`, `namespace` and
    /// `table`. A day whose Iceberg row count is below ClickHouse's (FINAL)
    /// stays, with an error-level `retention_held` alarm. Unset: retention
    /// drops by age alone.
    #[serde(default)]
    pub history: Option<qdp_iceberg::IcebergOptions>,
    /// How often retention runs during writes, e.g. `1h` (it also runs at
    /// open). Default `1h`.
    #[serde(default = "default_retention_check")]
    pub retention_check: String,
    /// Create a `<table>_latest` view per category table with the last row
    /// per (source_system_name, designated identifier) (default true).
    #[serde(default = "default_true")]
    pub latest_view: bool,
    /// Longest one request (an INSERT of one write, or a DDL statement) may
    /// take before the write fails as retryable, e.g. `60s` (default `60s`).
    #[serde(default = "default_insert_timeout")]
    pub insert_timeout: String,
    /// ClickHouse settings sent with every request, e.g.
    /// `{ max_insert_block_size = 1048576 }`.
    #[serde(default)]
    pub settings: BTreeMap<String, SettingValue>,
}

/// A password: printed as `***` by `Debug`, so it cannot leak through logs.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The value of a ClickHouse setting.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum SettingValue {
    /// Text, sent as is.
    Text(String),
    /// An integer.
    Int(i64),
    /// A number.
    Float(f64),
    /// `true` is sent as `1`, `false` as `0`.
    Bool(bool),
}

impl fmt::Display for SettingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingValue::Text(s) => f.write_str(s),
            SettingValue::Int(i) => write!(f, "{i}"),
            SettingValue::Float(x) => write!(f, "{x}"),
            SettingValue::Bool(b) => f.write_str(if *b { "1" } else { "0" }),
        }
    }
}

fn default_database() -> String {
    "qdp".into()
}
fn default_table() -> String {
    "{category}".into()
}
fn default_retention_check() -> String {
    "1h".into()
}
fn default_insert_timeout() -> String {
    "60s".into()
}
fn default_true() -> bool {
    true
}

/// Options after their checks.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The options as given.
    pub o: ClickHouseOptions,
    /// `retention_check` parsed.
    pub retention_check: Duration,
    /// `insert_timeout` parsed.
    pub insert_timeout: Duration,
}

/// Checks everything that can be checked without the server.
pub fn check(o: ClickHouseOptions) -> Result<Checked, PluginError> {
    let url = o.url.trim();
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| PluginError::config("url must start with http:// or https://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        // Never echo the URL: it holds a password.
        return Err(PluginError::config(
            "url must not contain credentials: use the `user` and `password` options",
        ));
    }
    if authority.is_empty() {
        return Err(PluginError::config("url has no host").with_context("url", url));
    }
    if !is_identifier(&o.database) {
        return Err(PluginError::config(
            "database must be letters, digits and `_`, not starting with a digit",
        )
        .with_context("database", &o.database));
    }
    if o.table.trim().is_empty() {
        return Err(PluginError::config("table must not be empty"));
    }
    if o.retention_days == Some(0) {
        return Err(PluginError::config(
            "retention_days must be at least 1 (today's partition is never dropped)",
        ));
    }
    if let Some(h) = &o.history {
        if o.retention_days.is_none() {
            return Err(PluginError::config(
                "history is set but retention_days is not: history only guards retention; set retention_days or remove history",
            ));
        }
        h.places(None).map_err(|e| {
            PluginError::config(format!("history: {e}")).with_context("key", "history")
        })?;
    }
    for key in o.settings.keys() {
        if !is_identifier(key) {
            return Err(
                PluginError::config("setting names are letters, digits and `_`")
                    .with_context("setting", key),
            );
        }
    }
    let retention_check = duration(&o.retention_check, "retention_check")?;
    let insert_timeout = duration(&o.insert_timeout, "insert_timeout")?;
    Ok(Checked {
        o,
        retention_check,
        insert_timeout,
    })
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses `250ms`, `30s`, `5m`, `1h`, `2d` (see [`qdp_sdk::options::duration`]).
pub fn duration(text: &str, key: &str) -> Result<Duration, PluginError> {
    qdp_sdk::options::duration(text, key).map_err(PluginError::config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(url: &str) -> ClickHouseOptions {
        ClickHouseOptions {
            url: url.into(),
            database: default_database(),
            user: None,
            password: Some(Secret("hunter2".into())),
            table: default_table(),
            retention_days: None,
            history: None,
            retention_check: default_retention_check(),
            latest_view: true,
            insert_timeout: default_insert_timeout(),
            settings: BTreeMap::new(),
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_echoing_them() {
        let e = check(opts("http://bob:hunter2@db:8123")).err();
        let text = format!("{e:?}");
        assert!(text.contains("credentials"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn the_password_is_not_in_debug_output() {
        let text = format!("{:?}", check(opts("http://db:8123")));
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("***"), "{text}");
    }

    #[test]
    fn durations_and_bad_values() {
        assert_eq!(duration("1h", "k").ok(), Some(Duration::from_secs(3600)));
        assert_eq!(
            duration("250ms", "k").ok(),
            Some(Duration::from_millis(250))
        );
        assert!(duration("soon", "k").is_err());
        assert!(check(opts("db:8123")).is_err());
        let mut o = opts("http://db:8123");
        o.retention_days = Some(0);
        assert!(check(o).is_err());
        let mut o = opts("http://db:8123");
        o.database = "a-b".into();
        assert!(check(o).is_err());
    }
}
