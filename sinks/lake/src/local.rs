//! The lake on a local file system: each object written under a temporary
//! name, fsynced, renamed into place, and its directory fsynced, so an
//! object is either absent or whole, and `Ok` means it survives a crash.

use crate::store::Written;
use qdp_sdk::{PluginError, Result};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Numbers temporary names apart within one process.
static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// A lake rooted at a directory.
#[derive(Debug, Clone)]
pub struct LocalLake {
    root: PathBuf,
}

impl LocalLake {
    /// A lake at `root` (created on the first write).
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// Creates the root directory so a wrong path fails at open.
    pub fn open(&self) -> Result<()> {
        fs::create_dir_all(&self.root).map_err(|e| io_error(e, "create", &self.root))
    }

    /// Writes `bytes` at `key` unless an object of the same size is there.
    pub fn put(&self, key: &str, bytes: &[u8]) -> Result<Written> {
        let path = self.root.join(key);
        if let Some(w) = existing(&path, bytes.len() as u64, key)? {
            return Ok(w);
        }
        let parent = path
            .parent()
            .ok_or_else(|| PluginError::internal(format!("lake key `{key}` has no directory")))?;
        self.create_dirs(parent)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = parent.join(format!(
            ".{name}.{}-{}.tmp",
            std::process::id(),
            TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let written = write_synced(&temp, bytes).and_then(|()| {
            // Content-addressed: a racing writer of the same key renames the
            // same bytes into place, so replacing is harmless.
            fs::rename(&temp, &path).map_err(|e| io_error(e, "rename into place", &path))
        });
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        sync_dir(parent)?;
        Ok(Written::Created)
    }

    /// Creates the directories from the root down to `dir`, fsyncing the
    /// parent of each one created so the new entry is durable too.
    fn create_dirs(&self, dir: &Path) -> Result<()> {
        if dir.is_dir() {
            return Ok(());
        }
        let mut missing: Vec<&Path> = dir
            .ancestors()
            .take_while(|d| !d.is_dir())
            .collect::<Vec<_>>();
        missing.reverse();
        for d in missing {
            match fs::create_dir(d) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_error(e, "create directory", d)),
            }
            if let Some(p) = d.parent() {
                sync_dir(p)?;
            }
        }
        Ok(())
    }
}

/// `Some(Existed)` when an object of `size` bytes is at `path`, `None` when
/// nothing is, an error when something else is there.
fn existing(path: &Path, size: u64, key: &str) -> Result<Option<Written>> {
    match fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() == size => Ok(Some(Written::Existed)),
        Ok(m) => Err(PluginError::external(format!(
            "lake object `{key}` exists with {} bytes, expected {size}: the lake is immutable, so it is left as it is",
            m.len()
        ))
        .retryable(false)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(e, "stat", path)),
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| io_error(e, "create", path))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| io_error(e, "write", path))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(e, "fsync directory", dir))
}

fn io_error(e: std::io::Error, what: &str, path: &Path) -> PluginError {
    PluginError::external(format!("lake: cannot {what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn writes_once_and_refuses_a_different_size() {
        let dir = tempfile::tempdir().unwrap();
        let lake = LocalLake::new(dir.path().join("lake"));
        lake.open().unwrap();
        assert_eq!(
            lake.put("s/2026/05/06/ab.csv", b"abc").unwrap(),
            Written::Created
        );
        assert_eq!(
            lake.put("s/2026/05/06/ab.csv", b"abc").unwrap(),
            Written::Existed
        );
        let e = lake.put("s/2026/05/06/ab.csv", b"abcd").unwrap_err();
        assert!(e.message.contains("immutable"), "{e}");
        let day = dir.path().join("lake/s/2026/05/06");
        let names: Vec<String> = fs::read_dir(&day)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            vec!["ab.csv".to_string()],
            "no temporary file is left"
        );
        assert_eq!(fs::read(day.join("ab.csv")).unwrap(), b"abc");
    }
}
