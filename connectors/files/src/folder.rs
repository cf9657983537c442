//! The drop folder: which files are ready, and moving them away once loaded.

use crate::config::{ReadOptions, Settings};
use qdp_sdk::{PluginError, Result};
use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A file ready to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    pub path: PathBuf,
    pub name: String,
    pub dataset: String,
    pub read: ReadOptions,
}

/// Files directly in the folder that match a dataset and have not been
/// modified for `settle`, by name. Hidden files (`.x`) and Office lock files
/// (`~$x`) are left alone, as are sub-directories (archive, rejected).
/// "Settled" is judged on the modification time, which every write moves,
/// so a file still being copied is not read; no waiting is involved.
pub fn ready(s: &Settings, now: SystemTime) -> Result<Vec<Ready>> {
    let entries = fs::read_dir(&s.folder).map_err(|e| {
        PluginError::external(format!(
            "files: cannot list the folder {}: {e}",
            s.folder.display()
        ))
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            PluginError::external(format!("files: listing {}: {e}", s.folder.display()))
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.starts_with("~$") {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let Some(dataset) = s.dataset_of(&name) else {
            continue;
        };
        let settled = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= s.settle);
        if settled {
            out.push(Ready {
                path: entry.path(),
                name,
                dataset: dataset.name.clone(),
                read: dataset.read.clone(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Moves `path` into `dir` under its own name, or `<stem>.<sha12>.<ext>`
/// when another file has that name; fsyncs both directories. A missing
/// source (already moved) is not an error.
pub fn move_into(path: &Path, dir: &Path, sha256: &str) -> Result<Option<PathBuf>> {
    let io = |what: &str, p: &Path, e: std::io::Error| {
        PluginError::external(format!("files: cannot {what} {}: {e}", p.display()))
    };
    if !path.exists() {
        return Ok(None);
    }
    fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut target = dir.join(&name);
    if target.exists() {
        let short = sha256.get(..12).unwrap_or(sha256);
        let (stem, ext) = match name.rsplit_once('.') {
            Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
            _ => (name.clone(), String::new()),
        };
        target = dir.join(format!("{stem}.{short}{ext}"));
    }
    match fs::rename(path, &target) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == ErrorKind::CrossesDevices => {
            fs::copy(path, &target)
                .and_then(|_| File::open(&target)?.sync_all())
                .map_err(|e| io("copy to", &target, e))?;
            sync_dir(dir)?;
            fs::remove_file(path).map_err(|e| io("remove", path, e))?;
        }
        Err(e) => return Err(io("move", path, e)),
    }
    sync_dir(dir)?;
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(Some(target))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| PluginError::external(format!("files: cannot fsync {}: {e}", dir.display())))
}

/// `<archive>/<yyyy>/<mm>/<dd>` for the UTC day of `now`.
pub fn archive_dir(archive: &Path, now: SystemTime) -> PathBuf {
    let day = chrono::DateTime::<chrono::Utc>::from(now);
    archive.join(day.format("%Y/%m/%d").to_string())
}
