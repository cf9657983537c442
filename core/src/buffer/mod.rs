//! The disk buffer: every batch made durable the moment it arrives, then
//! consumed by each downstream component at its own pace.
//!
//! # Layout
//!
//! ```text
//! DIR/segments/<first index:020>.seg   append-only segment files
//! DIR/cursors/<consumer>.cur           one committed cursor per consumer
//! ```
//!
//! # Record format
//!
//! A segment starts with the 8-byte magic `QDPBUF\0\1` (name and format
//! version), followed by frames:
//!
//! ```text
//! len: u32 LE | crc32c: u32 LE | payload (len bytes)
//! payload = index: u64 LE | appended_ns: i64 LE | rows: u64 LE
//!         | meta_len: u32 LE | meta (meta_len bytes) | Arrow IPC stream (one batch)
//! ```
//!
//! `crc32c` (Castagnoli, hardware-accelerated) covers the whole payload.
//! `index` counts records over the buffer's whole life, so a segment's name
//! is the index of its first record and records are contiguous across
//! segments. `meta` is opaque to the buffer; the runtime stores the batch's
//! metadata there. `rows` and `appended_ns` let operator tools report
//! pending rows and ages without decoding batches.
//!
//! # Durability
//!
//! [`FsyncPolicy`] decides when an appended record counts as durable, which
//! is when readers see it and when the runtime acknowledges the source:
//! `always` fsyncs every append; `group` (the default, every 10 ms) lets one
//! waiting appender fsync for all records written since the last fsync;
//! `os` leaves flushing to the kernel (survives a process kill, not a power
//! cut). Sealing a segment fsyncs it; creating one fsyncs the directory.
//!
//! # Cursors
//!
//! Each consumer commits the index of the first record it has not finished
//! ("next") after its own durable commit. The cursor file is replaced
//! atomically (temporary file, fsync, rename, directory fsync). A consumer
//! without a cursor starts at the oldest retained record. Cursors of
//! consumers that are no longer configured are ignored (and warned about).
//!
//! # Deletion and backpressure
//!
//! A sealed segment is deleted once every consumer's cursor is past its last
//! record; the active segment is never deleted. `max_bytes` bounds the bytes
//! some consumer has not committed: an append that would exceed it waits
//! (the source is slowed, nothing is dropped) until a consumer commits, with
//! a warning and the `blocked_for` figure saying why. Disk use is at most
//! `max_bytes` plus one segment.
//!
//! # Recovery
//!
//! Opening scans the frame headers of every segment and verifies every
//! checksum of the last one. A torn tail of the last segment is truncated
//! with a warning naming segment and offset. Torn means what a crash
//! mid-write leaves: the file ends inside a frame (short header, length past
//! the end), the last frame of the file fails its checksum, or the file ends
//! in zeros (extended, data never written). Such a record was not fsynced,
//! so never acknowledged (a tail record that rotted after its fsync looks
//! the same and is cut too, loudly). Anything else (a bad
//! checksum with data after it, a gap between segments, a record out of
//! sequence, a cursor past the end) refuses to open, naming segment and
//! offset. A sealed segment that goes bad later is caught when read: the
//! reader returns [`BufferError::Corrupt`] and never yields the garbage.
//! `qdp buffer verify DIR [--repair]` checks every checksum offline.

mod cursor;
mod frame;
mod inspect;
mod segment;
mod store;
#[cfg(test)]
mod tests;

pub use frame::Record;
pub use inspect::{CursorReport, Inspection, SegmentReport, VerifyReport, inspect, verify};
pub use segment::Problem;
pub use store::{Buffer, BufferStats, Progress, Reader};

use std::path::{Path, PathBuf};
use std::time::Duration;

/// When appended records are fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// After every append.
    Always,
    /// At most once per interval, for every record appended since.
    GroupCommit(Duration),
    /// Never explicitly; the kernel flushes.
    Os,
}

/// How a buffer behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferOptions {
    /// Bound on bytes some consumer has not committed; appends wait beyond it.
    pub max_bytes: u64,
    /// A segment is sealed when the next record would take it past this.
    pub segment_bytes: u64,
    /// When records become durable.
    pub fsync: FsyncPolicy,
}

impl Default for BufferOptions {
    fn default() -> Self {
        Self {
            max_bytes: 1 << 30,
            segment_bytes: 64 << 20,
            fsync: FsyncPolicy::GroupCommit(Duration::from_millis(10)),
        }
    }
}

/// What can go wrong in a buffer.
#[derive(Debug, thiserror::Error)]
pub enum BufferError {
    /// A file operation failed.
    #[error("buffer I/O on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Stored data is damaged.
    #[error("buffer segment {segment} is corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// The damaged file.
        segment: PathBuf,
        /// Byte offset of the bad frame.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A batch too large to store as one record.
    #[error("a batch of {0} bytes is too large for one buffer record (limit 1 GiB)")]
    TooLarge(u64),
    /// Encoding a batch failed.
    #[error("encoding a batch for the buffer: {0}")]
    Arrow(arrow::error::ArrowError),
    /// The buffer can no longer be used (a failed fsync, a closed buffer).
    #[error("buffer unusable: {0}")]
    Failed(String),
}

impl BufferError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
