//! File names and the committed high-water mark they encode.
//!
//! A committed file is `<origin>-<first_seq:020>-<last_seq:020>[-<n>].<ext>`;
//! its temporary twin starts with a dot and ends in `.tmp`. The highest
//! `last_seq` per origin among part-0 files (no `-<n>`) in a category
//! directory is what is committed.

use std::collections::HashMap;
use std::path::Path;

/// Keeps file names to letters, digits, `_` and `-`.
pub fn sanitize(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() { "_".into() } else { out }
}

/// The final name of a file holding batches `first..=last` of `origin`.
pub fn file_name(origin: &str, first: u64, last: u64, part: usize, ext: &str) -> String {
    let suffix = if part == 0 {
        String::new()
    } else {
        format!("-{part}")
    };
    format!("{}-{first:020}-{last:020}{suffix}.{ext}", sanitize(origin))
}

/// `(origin, last_seq)` of a committed file name.
pub fn parse(name: &str) -> Option<(String, u64)> {
    if name.starts_with('.') {
        return None;
    }
    let stem = name.rsplit_once('.')?.0;
    let mut tokens: Vec<&str> = stem.split('-').collect();
    let is_seq = |t: &&str| t.len() == 20 && t.bytes().all(|b| b.is_ascii_digit());
    if tokens.last().is_some_and(|t| !is_seq(t)) {
        // A part file (`-<n>`): committed before its part-0 sibling, so it
        // does not mark anything as committed on its own.
        return None;
    }
    let last = tokens.pop().filter(is_seq)?;
    tokens.pop().filter(is_seq)?;
    if tokens.is_empty() {
        return None;
    }
    let origin = tokens.join("-");
    Some((origin, last.parse().ok()?))
}

/// Removes leftover temporary files and returns the high-water mark per origin.
pub fn scan(dir: &Path) -> std::io::Result<HashMap<String, u64>> {
    let mut marks: HashMap<String, u64> = HashMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(marks),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".tmp") {
            std::fs::remove_file(entry.path())?;
            continue;
        }
        if let Some((origin, last)) = parse(&name) {
            let m = marks.entry(origin).or_insert(last);
            *m = (*m).max(last);
        }
    }
    Ok(marks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let n = file_name("sim-a", 3, 17, 0, "parquet");
        assert_eq!(n, "sim-a-00000000000000000003-00000000000000000017.parquet");
        assert_eq!(parse(&n), Some(("sim-a".into(), 17)));
        let n = file_name("sim", 3, 17, 2, "csv");
        assert_eq!(parse(&n), None, "part files do not mark");
        assert_eq!(parse(".sim-x.tmp"), None);
        assert_eq!(parse("notes.txt"), None);
    }

    #[test]
    fn scan_removes_temporaries_and_keeps_the_highest_mark() {
        let d = tempfile::tempdir().unwrap();
        for n in [
            file_name("a", 0, 4, 0, "csv"),
            file_name("a", 5, 9, 0, "csv"),
            file_name("b", 0, 2, 0, "csv"),
        ] {
            std::fs::write(d.path().join(n), "x").unwrap();
        }
        std::fs::write(d.path().join(".a-half.csv.tmp"), "x").unwrap();
        let m = scan(d.path()).unwrap();
        assert_eq!(m.get("a"), Some(&9));
        assert_eq!(m.get("b"), Some(&2));
        assert!(!d.path().join(".a-half.csv.tmp").exists());
    }
}
