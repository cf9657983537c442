//! `postgres.pipelines`: the pipeline files whose catalogue says which
//! columns hold personal data, as globs relative to the policy file.

use super::validate::Checker;
use crate::names::glob;
use std::path::{Path, PathBuf};

const KEY: [&str; 2] = ["postgres", "pipelines"];

/// Every file the patterns match, sorted, each once; a pattern matching no
/// file is an error (a typo would otherwise silently drop PII columns).
pub(super) fn resolve(c: &mut Checker, policy: &Path, patterns: &[String]) -> Vec<PathBuf> {
    let base = policy
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for p in patterns {
        let full = base.join(p);
        match matching(&full) {
            Ok(files) if !files.is_empty() => out.extend(files),
            Ok(_) => c.error(
                &KEY,
                format!("`{p}` matches no file (looked for {})", full.display()),
                "write a path or glob relative to the policy file's folder, e.g. \
                 `pipelines/*.toml`, or remove the entry",
            ),
            Err(e) => c.error(
                &KEY,
                format!("`{p}`: {e}"),
                "use `*` in the file name only, e.g. `pipelines/*.toml`",
            ),
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The files matching `pattern`, whose file name (not its folders) may hold `*`.
fn matching(pattern: &Path) -> Result<Vec<PathBuf>, String> {
    let name = pattern
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("not a file name")?;
    let dir = pattern.parent().unwrap_or(Path::new("."));
    if dir.to_string_lossy().contains('*') {
        return Err("only the file name may hold `*`".into());
    }
    if !name.contains('*') {
        return Ok([pattern.to_path_buf()]
            .into_iter()
            .filter(|p| p.is_file())
            .collect());
    }
    // A missing folder matches nothing, which the caller reports.
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut v: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| glob(name, n))
        })
        .collect();
    v.sort();
    Ok(v)
}
