//! The source's checkpoint: which files (by content hash) are loaded, and
//! how far the current file got, as JSON.

use qdp_sdk::{Checkpoint, PluginError, Result};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How many file hashes the checkpoint remembers (oldest forgotten first).
pub const REMEMBERED: usize = 10_000;

/// Position inside one file: its first `batches` batches were emitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partial {
    pub sha256: String,
    pub batches: usize,
}

/// The checkpoint's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watermark {
    /// Hashes of files loaded, oldest first.
    pub loaded: VecDeque<String>,
    /// The subset of `loaded` that was rejected (goes to `rejected/`).
    #[serde(default)]
    pub rejected: VecDeque<String>,
    /// The file being emitted, when a checkpoint falls inside it.
    #[serde(default)]
    pub partial: Option<Partial>,
}

impl Watermark {
    /// Reads a checkpoint; anything else than this JSON is a config error.
    pub fn from_checkpoint(ck: Option<&Checkpoint>) -> Result<Self> {
        let Some(ck) = ck else {
            return Ok(Self::default());
        };
        let w: Self = serde_json::from_slice(ck.as_bytes()).map_err(|e| {
            PluginError::config(format!(
                "the checkpoint is not a files source checkpoint: {e}"
            ))
        })?;
        let is_hash = |h: &String| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
        let partial_ok = w.partial.as_ref().is_none_or(|p| is_hash(&p.sha256));
        if !(w.loaded.iter().all(is_hash) && w.rejected.iter().all(is_hash) && partial_ok) {
            return Err(PluginError::config(
                "the checkpoint holds something that is not a sha256",
            ));
        }
        Ok(w)
    }

    /// The checkpoint bytes.
    pub fn to_checkpoint(&self) -> Result<Checkpoint> {
        serde_json::to_vec(self)
            .map(Checkpoint)
            .map_err(|e| PluginError::internal(format!("checkpoint: {e}")))
    }

    /// Whether the file with `sha256` was loaded.
    pub fn has(&self, sha256: &str) -> bool {
        self.loaded.iter().any(|h| h == sha256)
    }

    /// Whether the file with `sha256` was rejected.
    pub fn was_rejected(&self, sha256: &str) -> bool {
        self.rejected.iter().any(|h| h == sha256)
    }

    /// Records a file as loaded (and rejected), forgetting the oldest past
    /// [`REMEMBERED`].
    pub fn add(&mut self, sha256: &str, rejected: bool) {
        if !self.has(sha256) {
            self.loaded.push_back(sha256.to_string());
        }
        if rejected && !self.was_rejected(sha256) {
            self.rejected.push_back(sha256.to_string());
        }
        while self.loaded.len() > REMEMBERED {
            if let Some(old) = self.loaded.pop_front() {
                self.rejected.retain(|h| *h != old);
            }
        }
        self.partial = None;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn h(i: usize) -> String {
        format!("{i:064x}")
    }

    #[test]
    fn round_trips_and_stays_bounded() {
        let mut w = Watermark::default();
        for i in 0..REMEMBERED + 5 {
            w.add(&h(i), i == 2 || i == 9);
        }
        assert_eq!(w.loaded.len(), REMEMBERED);
        assert!(!w.has(&h(4)) && w.has(&h(5)) && w.has(&h(REMEMBERED + 4)));
        assert!(!w.was_rejected(&h(2)) && w.was_rejected(&h(9)));
        let back = Watermark::from_checkpoint(Some(&w.to_checkpoint().unwrap())).unwrap();
        assert_eq!(back, w);
    }

    #[test]
    fn garbage_is_a_config_error() {
        for bad in [&b"\xffx"[..], b"{\"loaded\": [\"nope\"]}", b"[]"] {
            let e = Watermark::from_checkpoint(Some(&Checkpoint(bad.to_vec()))).unwrap_err();
            assert_eq!(e.domain, qdp_sdk::ErrorDomain::Config);
        }
    }
}
