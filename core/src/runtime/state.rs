//! Where acknowledged source checkpoints are kept between runs.
//!
//! One small JSON file per source under `<data_dir>/state/`, replaced
//! atomically (write, fsync, rename, fsync the directory), so a crash leaves
//! either the old or the new checkpoint, never a torn one.
//!
//! Next to it, for sources that cannot replay deterministically, a
//! reservation of batch numbers (`<source>.reserved`): the first number not
//! yet handed out. Such a source's batches after a restart are new data, so
//! they must never reuse a number a sink may already have committed (sinks
//! skip numbers they have seen); numbers are reserved in blocks so this
//! costs one fsync per block, not per batch.
//!
//! Both are reached through [`StateBackend`], which a Postgres table also
//! implements (`[pipeline.state] postgres = "..."`, see
//! [`crate::schedule::postgres`]): the same calls, the same atomic
//! replace-or-keep semantics, and one test suite for both.

use crate::schedule::BoxResult;
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

    fn reserved_path(&self, source: &str) -> PathBuf {
        self.dir.join(format!("{source}.reserved"))
    }

    /// The first batch number of `source` not yet reserved, if any were.
    pub fn load_reserved(&self, source: &str) -> Result<Option<u64>> {
        let path = self.reserved_path(source);
        match std::fs::read_to_string(&path) {
            Ok(t) => t.trim().parse().map(Some).map_err(|_| {
                PluginError::internal(format!("batch number reservation holds `{}`", t.trim()))
                    .with_context("path", path.display())
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(PluginError::external(format!(
                "cannot read batch number reservation: {e}"
            ))
            .with_context("path", path.display())),
        }
    }

    /// Durably reserves every batch number of `source` below `upto`.
    pub fn save_reserved(&self, source: &str, upto: u64) -> Result<()> {
        self.replace(
            &self.reserved_path(source),
            &format!(".{source}.reserved.tmp"),
            upto.to_string().as_bytes(),
        )
    }

    /// Durably records `seq` and `checkpoint` for `source`.
    pub fn save(&self, source: &str, seq: u64, checkpoint: &Checkpoint) -> Result<()> {
        let body = serde_json::to_vec(&Saved {
            seq,
            checkpoint: STANDARD.encode(&checkpoint.0),
        })
        .map_err(|e| PluginError::internal(e.to_string()))?;
        self.replace(
            &self.path(source),
            &format!(".{source}.checkpoint.tmp"),
            &body,
        )
    }

    /// Replaces `path` with `body` atomically and durably.
    fn replace(&self, path: &Path, tmp_name: &str, body: &[u8]) -> Result<()> {
        let ctx = |e: std::io::Error| {
            PluginError::external(format!("cannot save source state: {e}"))
                .with_context("dir", self.dir.display())
        };
        std::fs::create_dir_all(&self.dir).map_err(ctx)?;
        let tmp = self.dir.join(tmp_name);
        let mut f = std::fs::File::create(&tmp).map_err(ctx)?;
        f.write_all(body).map_err(ctx)?;
        f.sync_all().map_err(ctx)?;
        std::fs::rename(&tmp, path).map_err(ctx)?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(ctx)?;
        Ok(())
    }
}

/// A store of source checkpoints and small named marks (the batch number
/// reservation, a schedule's last pass), each replaced atomically.
pub trait StateBackend: Send + Sync + std::fmt::Debug {
    /// The last acknowledged batch number and checkpoint of `source`.
    fn load<'a>(&'a self, source: &'a str) -> BoxResult<'a, Option<(u64, Checkpoint)>>;
    /// Durably records `seq` and `checkpoint` for `source`.
    fn save<'a>(
        &'a self,
        source: &'a str,
        seq: u64,
        checkpoint: &'a Checkpoint,
    ) -> BoxResult<'a, ()>;
    /// The mark `name` of `source`.
    fn load_mark<'a>(&'a self, source: &'a str, name: &'a str) -> BoxResult<'a, Option<String>>;
    /// Durably replaces the mark `name` of `source`.
    fn save_mark<'a>(&'a self, source: &'a str, name: &'a str, value: &'a str)
    -> BoxResult<'a, ()>;
}

impl CheckpointStore {
    fn mark_path(&self, source: &str, name: &str) -> PathBuf {
        self.dir.join(format!("{source}.{name}"))
    }
}

impl StateBackend for CheckpointStore {
    fn load<'a>(&'a self, source: &'a str) -> BoxResult<'a, Option<(u64, Checkpoint)>> {
        Box::pin(async move { CheckpointStore::load(self, source) })
    }

    fn save<'a>(
        &'a self,
        source: &'a str,
        seq: u64,
        checkpoint: &'a Checkpoint,
    ) -> BoxResult<'a, ()> {
        Box::pin(async move { CheckpointStore::save(self, source, seq, checkpoint) })
    }

    /// `<source>.<name>` next to the checkpoint (`reserved` is the batch
    /// number reservation file).
    fn load_mark<'a>(&'a self, source: &'a str, name: &'a str) -> BoxResult<'a, Option<String>> {
        Box::pin(async move {
            let path = self.mark_path(source, name);
            match std::fs::read_to_string(&path) {
                Ok(t) => Ok(Some(t.trim().to_string())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(
                    PluginError::external(format!("cannot read source state: {e}"))
                        .with_context("path", path.display()),
                ),
            }
        })
    }

    fn save_mark<'a>(
        &'a self,
        source: &'a str,
        name: &'a str,
        value: &'a str,
    ) -> BoxResult<'a, ()> {
        Box::pin(async move {
            self.replace(
                &self.mark_path(source, name),
                &format!(".{source}.{name}.tmp"),
                value.as_bytes(),
            )
        })
    }
}

/// The suite every [`StateBackend`] passes: empty, round trip, replace,
/// marks kept apart per source and name.
pub async fn check_backend(
    store: &dyn StateBackend,
    source: &str,
) -> std::result::Result<(), String> {
    let other = format!("{source}-other");
    let got = store.load(source).await.map_err(|e| e.to_string())?;
    if got.is_some() {
        return Err(format!("a new store holds {got:?}"));
    }
    store
        .save(source, 41, &Checkpoint(vec![1, 2, 3]))
        .await
        .map_err(|e| e.to_string())?;
    store
        .save(source, 42, &Checkpoint(vec![0, 255]))
        .await
        .map_err(|e| e.to_string())?;
    store
        .save(&other, 7, &Checkpoint(vec![7]))
        .await
        .map_err(|e| e.to_string())?;
    let got = store.load(source).await.map_err(|e| e.to_string())?;
    if got != Some((42, Checkpoint(vec![0, 255]))) {
        return Err(format!(
            "the second save did not replace the first: {got:?}"
        ));
    }
    if store
        .load_mark(source, "schedule")
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Err("a mark exists before it was saved".into());
    }
    for v in ["a", "b"] {
        store
            .save_mark(source, "schedule", v)
            .await
            .map_err(|e| e.to_string())?;
    }
    store
        .save_mark(source, "reserved", "1024")
        .await
        .map_err(|e| e.to_string())?;
    let s = store
        .load_mark(source, "schedule")
        .await
        .map_err(|e| e.to_string())?;
    let r = store
        .load_mark(source, "reserved")
        .await
        .map_err(|e| e.to_string())?;
    if s.as_deref() != Some("b") || r.as_deref() != Some("1024") {
        return Err(format!("marks mixed up: schedule {s:?}, reserved {r:?}"));
    }
    let o = store.load(&other).await.map_err(|e| e.to_string())?;
    if o != Some((7, Checkpoint(vec![7]))) {
        return Err(format!("sources mixed up: {o:?}"));
    }
    Ok(())
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

    #[tokio::test]
    async fn the_file_store_passes_the_backend_suite() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(dir.path());
        check_backend(&store, "eia").await.unwrap();
        // The reservation mark is the reservation file the runtime always used.
        assert_eq!(store.load_reserved("eia").unwrap(), Some(1024));
    }
}
