//! The source's position, kept in the checkpoint bytes (JSON) so a restart
//! or the next pass knows what was loaded, never in process memory only.

use qdp_sdk::{Checkpoint, PluginError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything the source needs to continue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Format version.
    pub v: u32,
    /// API v2: the last period loaded, per series request ([`crate::config::Series::key`]).
    #[serde(default)]
    pub last_period: BTreeMap<String, String>,
    /// API v2: where an unfinished pass stands; `None` between passes.
    #[serde(default)]
    pub cursor: Option<Cursor>,
    /// WPSR: SHA-256 of the last document loaded, per URL.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

/// Position inside a pass of the API mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cursor {
    /// Index of the series request in the configured list.
    pub series: usize,
    /// Key of that request, to notice a changed list.
    pub key: String,
    /// Offset of the next page.
    pub offset: usize,
    /// The `start` this pass asked that request for (kept so the offsets
    /// of the next pages count from the same first row).
    pub start: Option<String>,
}

impl State {
    /// The state in a checkpoint: a malformed one is a config error (the
    /// state store holds something that is not this source's).
    pub fn from_checkpoint(ck: Option<&Checkpoint>) -> Result<Self> {
        let Some(ck) = ck else {
            return Ok(Self {
                v: 1,
                ..Self::default()
            });
        };
        let s: State = serde_json::from_slice(ck.as_bytes()).map_err(|e| {
            PluginError::config(format!(
                "the checkpoint is not an eia source position ({e}); clear the state of this component to load from `start`"
            ))
        })?;
        if s.v != 1 {
            return Err(PluginError::config(format!(
                "checkpoint version {} is not supported (expected 1)",
                s.v
            )));
        }
        Ok(s)
    }

    /// The checkpoint bytes.
    pub fn to_checkpoint(&self) -> Checkpoint {
        Checkpoint(serde_json::to_vec(self).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let mut s = State::from_checkpoint(None).unwrap();
        s.last_period.insert("k".into(), "2024-10-04".into());
        s.cursor = Some(Cursor {
            series: 1,
            key: "k".into(),
            offset: 5000,
            start: None,
        });
        let back = State::from_checkpoint(Some(&s.to_checkpoint())).unwrap();
        assert_eq!(back, s);
        let e = State::from_checkpoint(Some(&Checkpoint(b"\xffnope".to_vec()))).unwrap_err();
        assert_eq!(e.domain, qdp_sdk::ErrorDomain::Config);
    }
}
