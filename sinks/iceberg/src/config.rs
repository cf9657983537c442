//! Options of the `iceberg` sink.

use crate::s3::S3Settings;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// Which catalog keeps the tables' current metadata pointers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CatalogKind {
    /// A SQL database (the JDBC catalog layout): a SQLite file by default,
    /// Postgres when `catalog_uri` names one.
    #[default]
    Sql,
    /// An Iceberg REST catalog at `catalog_uri`.
    Rest,
}

/// How finely rows are partitioned by their designated timestamp.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TimePartition {
    /// One partition per UTC day: ticks, anything with many rows a day.
    #[default]
    Day,
    /// Per month.
    Month,
    /// Per year: weekly or monthly releases with decades of history.
    Year,
    /// Not by time at all.
    None,
}

/// How to reach the bucket of an `s3://` warehouse. The secret is never
/// serialized (the storage crosses process boundaries as JSON) nor printed.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct S3Options {
    /// Endpoint of a non-AWS store (`http://127.0.0.1:9000`); AWS when absent.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Region (default `us-east-1`).
    #[serde(default)]
    pub region: Option<String>,
    /// Access key id; from `AWS_ACCESS_KEY_ID` when absent.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Secret access key (`${ENV}`); from the environment when absent. Never logged.
    #[serde(default, skip_serializing)]
    pub secret_access_key: Option<String>,
    /// Allow a plain `http://` endpoint (a local S3 server). Default false.
    #[serde(default)]
    pub allow_http: bool,
}

impl fmt::Debug for S3Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Options")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id.as_ref().map(|_| "***"))
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "***"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// Where the table files go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// A local (or mounted) directory, created before first use.
    Local(PathBuf),
    /// A bucket.
    S3(S3Settings),
}

/// Options of `iceberg`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IcebergOptions {
    /// `sql` (default) or `rest`.
    #[serde(default)]
    pub catalog: CatalogKind,
    /// SQL catalog: `sqlite:///abs/path/catalog.db` (default: `catalog.db` in
    /// the component's data directory) or `postgres://user@host/db`.
    /// REST catalog: its base URL, e.g. `http://127.0.0.1:8181`.
    #[serde(default)]
    pub catalog_uri: Option<String>,
    /// Catalog name, shared by every writer and reader of the same tables.
    #[serde(default = "default_catalog_name")]
    pub catalog_name: String,
    /// Where table files live: `file:///abs/path` (default: `warehouse/` in
    /// the component's data directory) or `s3://bucket/prefix` (see `s3`).
    #[serde(default)]
    pub warehouse: Option<String>,
    /// The bucket's endpoint, region and credentials for an `s3://` warehouse.
    #[serde(default)]
    pub s3: Option<S3Options>,
    /// Namespace of the tables (default `history`).
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Table name; `{category}` is replaced by the batch's category.
    #[serde(default = "default_table")]
    pub table: String,
    /// Partition by `day` (default), `month` or `year` of the designated
    /// timestamp, or `none`; always also by source system.
    #[serde(default)]
    pub time_partition: TimePartition,
    /// zstd level of the Parquet data files, 1 to 22 (default 3, as the
    /// `file` sink).
    #[serde(default = "default_level")]
    pub compression_level: i32,
    /// Size at which a data file is closed and the next one started
    /// (default 128 MiB). `qdp iceberg compact` merges smaller files later.
    #[serde(default = "default_target_file_size")]
    pub target_file_size_bytes: u64,
}

fn default_catalog_name() -> String {
    "qdp".into()
}
fn default_namespace() -> String {
    "history".into()
}
fn default_table() -> String {
    "{category}".into()
}
fn default_level() -> i32 {
    3
}
fn default_target_file_size() -> u64 {
    128 * 1024 * 1024
}

/// The resolved places: catalog database or URL, and warehouse root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Places {
    /// Catalog database URI (sql) or base URL (rest).
    pub catalog_uri: String,
    /// Warehouse root as an absolute `file://` or `s3://` URL.
    pub warehouse: String,
    /// Where the files go.
    pub store: Store,
}

impl Places {
    /// The SQLite file of a `sqlite://` catalog (without URL parameters).
    pub fn sqlite_file(&self) -> Option<&str> {
        let path = self.catalog_uri.strip_prefix("sqlite://")?;
        path.split('?').next()
    }
}

impl IcebergOptions {
    /// Checks the options and fills the defaults that need `data_dir`; the
    /// error names the key and the fix.
    pub fn places(&self, data_dir: Option<&Path>) -> Result<Places, String> {
        // Iceberg stores absolute locations: a relative data_dir is taken
        // from the working directory, once, here.
        let need_dir = |what: &str| {
            let dir = data_dir.ok_or_else(|| {
                format!("{what} is not set and the pipeline has no data_dir to default it under: set {what}")
            })?;
            std::path::absolute(dir).map_err(|e| format!("data_dir {}: {e}", dir.display()))
        };
        // `${VAR:-}` in a pipeline file leaves an empty string: the default.
        let set = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let (warehouse, store) = match set(&self.warehouse) {
            Some(w) if w.starts_with("s3://") => {
                let bucket = w["s3://".len()..].split('/').next().unwrap_or_default();
                if bucket.is_empty() {
                    return Err(format!(
                        "warehouse `{w}` names no bucket: s3://bucket/prefix"
                    ));
                }
                let settings = S3Settings {
                    bucket: bucket.to_string(),
                    o: self.s3.clone().unwrap_or_default(),
                };
                settings.client()?;
                (w.trim_end_matches('/').to_string(), Store::S3(settings))
            }
            Some(w) => match w.strip_prefix("file://") {
                Some(p) if p.starts_with('/') => (w.clone(), Store::Local(PathBuf::from(p))),
                _ => {
                    return Err(format!(
                        "warehouse `{w}` must be file:///absolute/path or s3://bucket/prefix"
                    ));
                }
            },
            None => {
                let dir = need_dir("warehouse")?.join("warehouse");
                (format!("file://{}", dir.display()), Store::Local(dir))
            }
        };
        if self.s3.is_some() && !matches!(store, Store::S3(_)) {
            return Err("s3 is set but warehouse is not s3://bucket/prefix: remove s3 or point warehouse at the bucket".into());
        }
        let catalog_uri = match (&self.catalog, &set(&self.catalog_uri)) {
            (CatalogKind::Sql, Some(u)) => {
                if !(u.starts_with("sqlite:")
                    || u.starts_with("postgres://")
                    || u.starts_with("postgresql://"))
                {
                    return Err(format!(
                        "catalog_uri `{u}` must be sqlite:///abs/path/catalog.db or postgres://user@host/db for a sql catalog"
                    ));
                }
                u.clone()
            }
            (CatalogKind::Sql, None) => {
                let db = need_dir("catalog_uri")?.join("catalog.db");
                format!("sqlite://{}?mode=rwc", db.display())
            }
            (CatalogKind::Rest, Some(u))
                if u.starts_with("http://") || u.starts_with("https://") =>
            {
                u.clone()
            }
            (CatalogKind::Rest, other) => {
                return Err(format!(
                    "catalog = \"rest\" needs catalog_uri = \"http(s)://host:port\" (got {other:?})"
                ));
            }
        };
        if self.namespace.trim().is_empty() || self.namespace.contains('.') {
            return Err(format!(
                "namespace `{}` must be one non-empty name without dots",
                self.namespace
            ));
        }
        if self.table.replace("{category}", "c").trim().is_empty() {
            return Err("table must not be empty (default `{category}`)".into());
        }
        if !(1..=22).contains(&self.compression_level) {
            return Err(format!(
                "compression_level = {} is not a zstd level: use 1 to 22 (default 3)",
                self.compression_level
            ));
        }
        if self.target_file_size_bytes < 1024 * 1024 {
            return Err(format!(
                "target_file_size_bytes = {} is below 1 MiB: files that small make every reader slow",
                self.target_file_size_bytes
            ));
        }
        Ok(Places {
            catalog_uri,
            warehouse,
            store,
        })
    }

    /// The table name for `category`.
    pub fn table_for(&self, category: &str) -> String {
        self.table.replace("{category}", category)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(toml_like: serde_json::Value) -> IcebergOptions {
        serde_json::from_value(toml_like).unwrap_or_else(|e| panic!("options: {e}"))
    }

    #[test]
    fn defaults_live_under_the_data_dir() {
        let o = opts(serde_json::json!({}));
        let p = o
            .places(Some(Path::new("/var/qdp/x")))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.catalog_uri, "sqlite:///var/qdp/x/catalog.db?mode=rwc");
        assert_eq!(p.warehouse, "file:///var/qdp/x/warehouse");
        assert_eq!(
            o.table_for("derivatives_tick_market_data"),
            "derivatives_tick_market_data"
        );
    }

    #[test]
    fn bad_places_name_the_key_and_the_fix() {
        let no_dir = opts(serde_json::json!({})).places(None);
        assert!(no_dir.is_err_and(|e| e.contains("set warehouse")));
        let rel = opts(serde_json::json!({"warehouse": "file://rel/path"})).places(None);
        assert!(rel.is_err_and(|e| e.contains("file:///absolute/path")));
        let s3_local = opts(serde_json::json!({"warehouse": "file:///w", "catalog_uri": "sqlite:///c.db", "s3": {}}))
            .places(None);
        assert!(s3_local.is_err_and(|e| e.contains("remove s3")));
        let http = opts(serde_json::json!({"warehouse": "s3://b/w", "catalog_uri": "sqlite:///c.db", "s3": {"endpoint": "http://127.0.0.1:9"}}))
            .places(None);
        assert!(http.is_err_and(|e| e.contains("allow_http")));
        let mysql = opts(serde_json::json!({"catalog_uri": "mysql://x", "warehouse": "file:///w"}))
            .places(None);
        assert!(mysql.is_err_and(|e| e.contains("catalog_uri `mysql://x`")));
        let rest =
            opts(serde_json::json!({"catalog": "rest", "warehouse": "file:///w"})).places(None);
        assert!(rest.is_err_and(|e| e.contains("needs catalog_uri")));
        let small = opts(serde_json::json!({"target_file_size_bytes": 10, "warehouse": "file:///w", "catalog_uri": "sqlite:///c.db"}))
            .places(None);
        assert!(small.is_err_and(|e| e.contains("below 1 MiB")));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: Result<IcebergOptions, _> =
            serde_json::from_value(serde_json::json!({"warehose": "x"}));
        assert!(r.is_err_and(|e| e.to_string().contains("warehose")));
    }
}
