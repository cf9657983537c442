//! Where acknowledged source checkpoints are kept between runs.
//!
//! One small JSON file per source under `<data_dir>/state/`, replaced
//! atomically (write, fsync, rename, fsync the directory), so a crash leaves
//! either the old or the new checkpoint, never a torn one.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use qdp_sdk::{Checkpoint, PluginError, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Serialize, Deserialize)]
struct Saved {
    seq: u64,
    checkpoint: String,
}

/// The checkpoint store of one pipeline.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    dir: PathBuf,
}

impl CheckpointStore {
    /// A store under `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("state"),
        }
    }

    fn path(&self, source: &str) -> PathBuf {
        self.dir.join(format!("{source}.checkpoint.json"))
    }

    /// The last acknowledged batch number and checkpoint of `source`.
    pub fn load(&self, source: &str) -> Result<Option<(u64, Checkpoint)>> {
        let path = self.path(source);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(
                    PluginError::external(format!("cannot read checkpoint: {e}"))
                        .with_context("path", path.display()),
                );
            }
        };
        let saved: Saved = serde_json::from_str(&text).map_err(|e| {
            PluginError::internal(format!("checkpoint file is corrupt: {e}"))
                .with_context("path", path.display())
        })?;
        let bytes = STANDARD.decode(saved.checkpoint).map_err(|e| {
            PluginError::internal(format!("checkpoint file is corrupt: {e}"))
                .with_context("path", path.display())
        })?;
        Ok(Some((saved.seq, Checkpoint(bytes))))
    }

    /// Durably records `seq` and `checkpoint` for `source`.
    pub fn save(&self, source: &str, seq: u64, checkpoint: &Checkpoint) -> Result<()> {
        let ctx = |e: std::io::Error| {
            PluginError::external(format!("cannot save checkpoint: {e}"))
                .with_context("dir", self.dir.display())
        };
        std::fs::create_dir_all(&self.dir).map_err(ctx)?;
        let body = serde_json::to_vec(&Saved {
            seq,
            checkpoint: STANDARD.encode(&checkpoint.0),
        })
        .map_err(|e| PluginError::internal(e.to_string()))?;
        let tmp = self.dir.join(format!(".{source}.checkpoint.tmp"));
        let mut f = std::fs::File::create(&tmp).map_err(ctx)?;
        f.write_all(&body).map_err(ctx)?;
        f.sync_all().map_err(ctx)?;
        std::fs::rename(&tmp, self.path(source)).map_err(ctx)?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(ctx)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(dir.path());
        assert!(store.load("sim").unwrap().is_none());
        store.save("sim", 41, &Checkpoint(vec![1, 2, 3])).unwrap();
        assert_eq!(
            store.load("sim").unwrap(),
            Some((41, Checkpoint(vec![1, 2, 3])))
        );
        std::fs::write(store.path("sim"), "{not json").unwrap();
        assert!(store.load("sim").is_err());
    }
}
