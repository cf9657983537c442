//! The cursor ledger: one small file per consumer, `cursors/<name>.cur`,
//! holding the index of the next record it has not committed, as decimal
//! text. Written to a temporary file, fsynced, renamed over the old one,
//! and the directory fsynced, so a crash leaves the old or the new value.

use super::BufferError;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The key a consumer name is stored under (its file name without `.cur`).
pub fn key(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    safe
}

fn file_name(name: &str) -> String {
    format!("{}.cur", key(name))
}

/// Every cursor in `dir`.
pub fn load_all(dir: &Path) -> Result<BTreeMap<String, u64>, BufferError> {
    let mut out = BTreeMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(BufferError::io(dir, e)),
    };
    for e in entries {
        let p = e.map_err(|e| BufferError::io(dir, e))?.path();
        let Some(name) = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".cur"))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&p).map_err(|e| BufferError::io(&p, e))?;
        let next = text
            .trim()
            .parse::<u64>()
            .map_err(|_| BufferError::Corrupt {
                segment: p.clone(),
                offset: 0,
                reason: format!("cursor file holds `{}`, not a record index", text.trim()),
            })?;
        out.insert(name.to_string(), next);
    }
    Ok(out)
}

/// Durably stores `next` as the cursor of `name`.
pub fn store(dir: &Path, name: &str, next: u64) -> Result<(), BufferError> {
    let path = dir.join(file_name(name));
    let tmp = dir.join(format!(".{}.tmp", file_name(name)));
    let io = |e| BufferError::io(&path, e);
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    writeln!(f, "{next}").map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    sync_dir(dir)
}

/// Fsyncs a directory so renames and new files in it survive a crash.
pub fn sync_dir(dir: &Path) -> Result<(), BufferError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| BufferError::io(dir, e))
}
