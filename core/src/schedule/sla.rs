//! The release SLA record: one row per (pipeline, source, calendar, period)
//! in `ops.release_sla`, or in `<data_dir>/ops/release_sla.jsonl` when no
//! Postgres is configured.
//!
//! A row is written when a release is given its final status (`loaded`,
//! `late`, `missed`), and earlier as `late` with no `loaded_at` the moment
//! its SLA passes, so a dashboard sees a late release before it loads.

use super::BoxResult;
use chrono::{DateTime, Utc};
use qdp_sdk::{PluginError, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What happened to one release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaRow {
    /// Pipeline name.
    pub pipeline: String,
    /// Source id.
    pub source: String,
    /// Calendar name (`eia_wpsr`, `cftc_cot`).
    pub release_calendar: String,
    /// The period as the calendar names it (`2026-04-24`).
    pub period: String,
    /// When the calendar said it comes out.
    #[serde(with = "rfc3339")]
    pub expected_at: DateTime<Utc>,
    /// When the pass that saw it finished reading.
    #[serde(with = "rfc3339_opt")]
    pub first_seen_at: Option<DateTime<Utc>>,
    /// When every sink had committed that pass.
    #[serde(with = "rfc3339_opt")]
    pub loaded_at: Option<DateTime<Utc>>,
    /// Category rows of the release in that pass.
    pub rows: u64,
    /// `loaded`, `late` or `missed`.
    pub status: String,
    /// Passes run for it.
    pub polls: u32,
}

impl SlaRow {
    /// Whether the release is in the warehouse (on time or not).
    pub fn is_loaded(&self) -> bool {
        self.loaded_at.is_some() && (self.status == "loaded" || self.status == "late")
    }
}

/// Where SLA rows go.
pub trait SlaStore: Send + Sync + std::fmt::Debug {
    /// Inserts or replaces the row of its (pipeline, source, calendar, period).
    fn record<'a>(&'a self, row: &'a SlaRow) -> BoxResult<'a, ()>;
    /// The row of one release, if any.
    fn find<'a>(
        &'a self,
        pipeline: &'a str,
        source: &'a str,
        calendar: &'a str,
        period: &'a str,
    ) -> BoxResult<'a, Option<SlaRow>>;
}

/// JSON lines, appended; the last line of a release is its current row.
#[derive(Debug, Clone)]
pub struct FileSlaStore {
    path: PathBuf,
}

impl FileSlaStore {
    /// The file under `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join("ops").join("release_sla.jsonl"),
        }
    }

    /// Where rows are written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every row in the file, in the order written.
    pub fn rows(&self) -> Result<Vec<SlaRow>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(PluginError::external(format!("cannot read SLA rows: {e}"))
                    .with_context("path", self.path.display()));
            }
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).map_err(|e| {
                    PluginError::internal(format!("SLA file holds a bad line: {e}"))
                        .with_context("path", self.path.display())
                })
            })
            .collect()
    }

    fn append(&self, row: &SlaRow) -> Result<()> {
        let ctx = |e: std::io::Error| {
            PluginError::external(format!("cannot write an SLA row: {e}"))
                .with_context("path", self.path.display())
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(ctx)?;
        }
        let mut line = serde_json::to_vec(row).map_err(|e| PluginError::internal(e.to_string()))?;
        line.push(b'\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(ctx)?;
        f.write_all(&line).map_err(ctx)?;
        f.sync_data().map_err(ctx)
    }
}

impl SlaStore for FileSlaStore {
    fn record<'a>(&'a self, row: &'a SlaRow) -> BoxResult<'a, ()> {
        Box::pin(async move { self.append(row) })
    }

    fn find<'a>(
        &'a self,
        pipeline: &'a str,
        source: &'a str,
        calendar: &'a str,
        period: &'a str,
    ) -> BoxResult<'a, Option<SlaRow>> {
        Box::pin(async move {
            Ok(self.rows()?.into_iter().rev().find(|r| {
                r.pipeline == pipeline
                    && r.source == source
                    && r.release_calendar == calendar
                    && r.period == period
            }))
        })
    }
}

/// Times as RFC 3339 text in the JSON lines file.
mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

/// Optional times as RFC 3339 text or null.
mod rfc3339_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.to_rfc3339()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                DateTime::parse_from_rfc3339(&text)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}
