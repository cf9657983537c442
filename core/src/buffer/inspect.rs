//! Offline views of a buffer directory for operators: what it holds, and
//! whether every record is intact.

use super::BufferError;
use super::cursor;
use super::segment::{self, Problem};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One segment file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SegmentReport {
    /// The file.
    pub path: PathBuf,
    /// Index of its first record.
    pub first: u64,
    /// Records in it.
    pub records: u64,
    /// Rows in those records.
    pub rows: u64,
    /// File size.
    pub bytes: u64,
}

/// One consumer's position.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CursorReport {
    /// Consumer name.
    pub name: String,
    /// Next record it will read.
    pub next: u64,
    /// Records it has not committed.
    pub pending_records: u64,
    /// Rows it has not committed.
    pub pending_rows: u64,
    /// Bytes it has not committed.
    pub pending_bytes: u64,
    /// Age of the oldest record it has not committed, in seconds.
    pub oldest_age_s: Option<f64>,
}

/// What `qdp buffer inspect` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Inspection {
    /// Segments, oldest first.
    pub segments: Vec<SegmentReport>,
    /// Consumers' cursors.
    pub cursors: Vec<CursorReport>,
    /// Index the next append gets.
    pub next_index: u64,
}

/// Reads segment headers and cursors (no checksums: see [`verify`]).
pub fn inspect(dir: &Path) -> Result<Inspection, BufferError> {
    let sdir = dir.join("segments");
    if !sdir.is_dir() {
        return Err(BufferError::io(
            &sdir,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not a qdp buffer (no segments/ directory)",
            ),
        ));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let mut segments = Vec::new();
    let mut records = Vec::new();
    for (first, path) in segment::list(&sdir)? {
        let scan = segment::scan(&path, first, false)?;
        segments.push(SegmentReport {
            path: path.clone(),
            first,
            records: scan.records.len() as u64,
            rows: scan.records.iter().map(|r| r.rows).sum(),
            bytes: scan.file_len,
        });
        records.extend(
            scan.records
                .iter()
                .enumerate()
                .map(|(i, r)| (first + i as u64, *r)),
        );
    }
    let next_index = records.last().map_or(0, |(i, _)| i + 1);
    let cursors = cursor::load_all(&dir.join("cursors"))?
        .into_iter()
        .map(|(name, next)| {
            let pending: Vec<_> = records.iter().filter(|(i, _)| *i >= next).collect();
            CursorReport {
                name,
                next,
                pending_records: pending.len() as u64,
                pending_rows: pending.iter().map(|(_, r)| r.rows).sum(),
                pending_bytes: pending.iter().map(|(_, r)| r.bytes).sum(),
                oldest_age_s: pending.first().map(|(_, r)| {
                    Duration::from_nanos((now - r.appended_ns).max(0) as u64).as_secs_f64()
                }),
            }
        })
        .collect();
    Ok(Inspection {
        segments,
        cursors,
        next_index,
    })
}

/// What `qdp buffer verify` found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// Segments checked.
    pub segments: u64,
    /// Records whose checksum matched.
    pub records: u64,
    /// The first bad record: segment, offset, and whether it is a torn tail.
    pub problem: Option<(PathBuf, Problem)>,
    /// A torn tail was truncated (only with `repair`).
    pub repaired: bool,
}

/// Checks every record's checksum and sequence. With `repair`, a torn tail
/// of the last segment (what a crash mid-write leaves) is truncated; any
/// other damage is only reported, because cutting it would lose records
/// that follow it.
pub fn verify(dir: &Path, repair: bool) -> Result<VerifyReport, BufferError> {
    let sdir = dir.join("segments");
    let files = segment::list(&sdir)?;
    let mut report = VerifyReport {
        segments: 0,
        records: 0,
        problem: None,
        repaired: false,
    };
    let count = files.len();
    let mut expected: Option<u64> = None;
    for (i, (first, path)) in files.into_iter().enumerate() {
        report.segments += 1;
        if let Some(e) = expected
            && e != first
        {
            report.problem = Some((
                path,
                Problem {
                    offset: 0,
                    torn: false,
                    reason: format!("segment starts at record {first}, expected {e}"),
                },
            ));
            break;
        }
        let scan = segment::scan(&path, first, true)?;
        report.records += scan.records.len() as u64;
        expected = Some(first + scan.records.len() as u64);
        if let Some(mut p) = scan.problem {
            let last = i + 1 == count;
            p.torn &= last;
            if p.torn && repair {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| BufferError::io(&path, e))?;
                f.set_len(scan.valid_len)
                    .and_then(|_| f.sync_all())
                    .map_err(|e| BufferError::io(&path, e))?;
                report.repaired = true;
            }
            report.problem = Some((path, p));
            break;
        }
    }
    Ok(report)
}
