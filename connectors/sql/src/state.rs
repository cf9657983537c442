//! The checkpoint: per dataset, the `(updated_at, primary key)` watermark
//! and the rows already reported for a NULL `updated_at`.
//!
//! It is the only memory the source has between passes (ADR 0002: the
//! watermark is the checkpoint), so it is JSON the runtime stores after the
//! sinks committed, never state kept in the process.

use qdp_sdk::{Checkpoint, PluginError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Position of the last row read: the database's own text of its
/// `updated_at` and primary key values, which cast back exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// `updated_at` as the database prints it.
    pub updated_at: String,
    /// Primary key values as the database prints them, in key order.
    pub pk: Vec<String>,
}

/// What the checkpoint keeps for one table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableState {
    /// `schema.table` the dataset was read from, for people reading the state.
    pub table: String,
    /// Every row at or before this position has been emitted.
    pub watermark: Option<Cursor>,
    /// Primary keys (joined by `|`) of rows with a NULL `updated_at` already
    /// sent to unqualified, so a pass reports only new ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub null_keys: Vec<String>,
}

/// The whole checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Format version.
    pub sql_checkpoint: u32,
    /// By dataset name.
    pub tables: BTreeMap<String, TableState>,
}

const VERSION: u32 = 1;

impl State {
    /// An empty state (first run).
    pub fn new() -> Self {
        Self {
            sql_checkpoint: VERSION,
            tables: BTreeMap::new(),
        }
    }

    /// Reads a checkpoint this source wrote; anything else is a config error
    /// (a checkpoint of another component, or a corrupted state file).
    pub fn from_checkpoint(ck: &Checkpoint) -> Result<Self> {
        let s: State = serde_json::from_slice(ck.as_bytes()).map_err(|e| {
            PluginError::config(format!(
                "the stored checkpoint is not one of the sql source ({e}); remove it from the state store to start over"
            ))
        })?;
        if s.sql_checkpoint != VERSION {
            return Err(PluginError::config(format!(
                "the stored checkpoint has format {}, this plugin reads {VERSION}",
                s.sql_checkpoint
            )));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let mut s = State::new();
        s.tables.insert(
            "clients".into(),
            TableState {
                table: "public.clients".into(),
                watermark: Some(Cursor {
                    updated_at: "2026-01-01 00:00:00+00".into(),
                    pk: vec!["7".into()],
                }),
                null_keys: vec!["9".into()],
            },
        );
        let ck = s.to_checkpoint().unwrap();
        assert_eq!(State::from_checkpoint(&ck).unwrap(), s);
        let e = State::from_checkpoint(&Checkpoint(b"\xffnope".to_vec())).unwrap_err();
        assert_eq!(e.domain, qdp_sdk::ErrorDomain::Config);
        let e = State::from_checkpoint(&Checkpoint(br#"{"offset": 5}"#.to_vec())).unwrap_err();
        assert_eq!(e.domain, qdp_sdk::ErrorDomain::Config);
    }
}
