//! Segment files: `<first index:020>.seg`, the magic, then frames.

use super::BufferError;
use super::frame::{self, FRAME_HEADER, Frame, MAGIC, PREFIX};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Where one record lives and what it holds, kept in memory per segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecMeta {
    /// Byte offset of the frame header in the segment.
    pub offset: u64,
    /// Append time, Unix nanoseconds.
    pub appended_ns: i64,
    /// Rows in the batch.
    pub rows: u64,
    /// Frame bytes, header included.
    pub bytes: u64,
}

/// A problem found while scanning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Offset of the frame.
    pub offset: u64,
    /// A torn write (the file ends inside the frame, the last frame fails
    /// its checksum, or only zeros are left) rather than damage mid-file.
    pub torn: bool,
    /// What is wrong.
    pub reason: String,
}

/// What a scan of one segment found.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The readable records, in order.
    pub records: Vec<RecMeta>,
    /// Bytes up to the end of the last readable record.
    pub valid_len: u64,
    /// File length.
    pub file_len: u64,
    /// The first problem, where reading stopped.
    pub problem: Option<Problem>,
}

/// The segment file name for a first index.
pub fn file_name(first: u64) -> String {
    format!("{first:020}.seg")
}

/// The first index of a segment file name, if it is one.
pub fn parse_name(p: &Path) -> Option<u64> {
    let name = p.file_name()?.to_str()?;
    let digits = name.strip_suffix(".seg")?;
    (digits.len() == 20).then(|| digits.parse().ok()).flatten()
}

/// Segment files of `dir`, by first index.
pub fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>, BufferError> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| BufferError::io(dir, e))?;
    for e in entries {
        let p = e.map_err(|e| BufferError::io(dir, e))?.path();
        if let Some(first) = parse_name(&p) {
            out.push((first, p));
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a segment. With `verify`, every checksum is checked; without, only
/// frame headers and payload prefixes are read (fast, for opening).
pub fn scan(path: &Path, first: u64, verify: bool) -> Result<Scan, BufferError> {
    let io = |e| BufferError::io(path, e);
    let file = File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let mut r = BufReader::with_capacity(1 << 16, file);
    let mut scan = Scan {
        records: Vec::new(),
        valid_len: 0,
        file_len,
        problem: None,
    };
    let mut magic = [0u8; 8];
    if file_len < MAGIC.len() as u64 {
        scan.problem = Some(Problem {
            offset: 0,
            torn: true,
            reason: "file shorter than the segment header".into(),
        });
        return Ok(scan);
    }
    r.read_exact(&mut magic).map_err(io)?;
    if &magic != MAGIC {
        return Err(BufferError::Corrupt {
            segment: path.to_path_buf(),
            offset: 0,
            reason: "not a qdp buffer segment (bad magic)".into(),
        });
    }
    let mut offset = MAGIC.len() as u64;
    scan.valid_len = offset;
    loop {
        let remaining = file_len - offset;
        let expected = first + scan.records.len() as u64;
        let (prefix, bytes) = if verify {
            match frame::read_frame(&mut r, remaining).map_err(io)? {
                Frame::End => break,
                Frame::Torn { reason } => {
                    scan.problem = Some(Problem {
                        offset,
                        torn: true,
                        reason,
                    });
                    break;
                }
                Frame::Bad { reason } => {
                    scan.problem = Some(Problem {
                        offset,
                        torn: false,
                        reason,
                    });
                    break;
                }
                Frame::Good { payload } => (
                    frame::parse_prefix(&payload),
                    FRAME_HEADER + payload.len() as u64,
                ),
            }
        } else {
            if remaining == 0 {
                break;
            }
            let mut h = [0u8; 8];
            let mut p = [0u8; PREFIX];
            if remaining < FRAME_HEADER + PREFIX as u64 {
                scan.problem = Some(Problem {
                    offset,
                    torn: true,
                    reason: format!("{remaining} bytes, less than a frame"),
                });
                break;
            }
            r.read_exact(&mut h).map_err(io)?;
            let (len, _) = frame::parse_header(&h);
            if (len as usize) < PREFIX || FRAME_HEADER + len as u64 > remaining {
                scan.problem = Some(Problem {
                    offset,
                    torn: FRAME_HEADER + len as u64 > remaining,
                    reason: format!("frame length {len} does not fit the file"),
                });
                break;
            }
            r.read_exact(&mut p).map_err(io)?;
            r.seek(SeekFrom::Current(len as i64 - PREFIX as i64))
                .map_err(io)?;
            (frame::parse_prefix(&p), FRAME_HEADER + len as u64)
        };
        let Some(prefix) = prefix.filter(|p| p.index == expected) else {
            scan.problem = Some(Problem {
                offset,
                torn: false,
                reason: format!("record out of sequence (expected index {expected})"),
            });
            break;
        };
        scan.records.push(RecMeta {
            offset,
            appended_ns: prefix.appended_ns,
            rows: prefix.rows,
            bytes,
        });
        offset += bytes;
        scan.valid_len = offset;
    }
    Ok(scan)
}
