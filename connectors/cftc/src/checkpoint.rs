//! The watermark, kept in the checkpoint bytes (JSON) so a restarted
//! process knows what it loaded without asking anything else.
//!
//! Per document (a yearly file's URL or path, a Socrata dataset): its
//! family, the newest report date loaded and the SHA-256 of what was read.
//! Keying by document rather than by family lets one source read the 2025
//! and the 2026 files of one family side by side; for the usual one file
//! (or dataset) per family it is the same thing. `partial` marks a pass
//! stopped inside a document: a restart that reads the same bytes again
//! skips the batches already delivered.

use crate::config::parse_day;
use crate::family::Family;
use chrono::NaiveDate;
use qdp_sdk::{Checkpoint, PluginError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the checkpoint layout.
const VERSION: u32 = 1;

/// What has been loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Layout version.
    pub v: u32,
    /// Per document name.
    pub objects: BTreeMap<String, ObjectState>,
    /// A document delivered in part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<Partial>,
}

/// One document's watermark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectState {
    /// The report family.
    pub family: Family,
    /// The newest report date loaded, `YYYY-MM-DD`.
    pub last_report_date: Option<String>,
    /// SHA-256 of what was read last (the file, or the Socrata pages).
    pub sha256: String,
}

impl ObjectState {
    /// The newest report date loaded.
    pub fn last(&self) -> Option<NaiveDate> {
        self.last_report_date.as_deref().and_then(parse_day)
    }
}

/// A document delivered in part: its hash and how many batches went out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partial {
    /// The document's name.
    pub object: String,
    /// SHA-256 of what was read.
    pub sha256: String,
    /// Batches of it already emitted.
    pub emitted: usize,
}

impl State {
    /// Reads checkpoint bytes; anything else is a config error.
    pub fn from_checkpoint(c: Option<&Checkpoint>) -> Result<Self> {
        let Some(c) = c else {
            return Ok(Self {
                v: VERSION,
                ..Self::default()
            });
        };
        let s: State = serde_json::from_slice(c.as_bytes()).map_err(|e| {
            PluginError::config(format!("the checkpoint is not a cftc checkpoint: {e}"))
        })?;
        if s.v != VERSION {
            return Err(PluginError::config(format!(
                "checkpoint version {} is not {VERSION}",
                s.v
            )));
        }
        for (name, o) in &s.objects {
            if o.last_report_date.is_some() && o.last().is_none() {
                return Err(PluginError::config(format!(
                    "checkpoint: `{name}` has a bad last_report_date"
                )));
            }
        }
        Ok(s)
    }

    /// The checkpoint bytes.
    pub fn to_checkpoint(&self) -> Result<Checkpoint> {
        serde_json::to_vec(self)
            .map(Checkpoint)
            .map_err(|e| PluginError::internal(format!("checkpoint: {e}")))
    }
}
