//! Record framing: `len:u32 | crc32c:u32 | payload`, and the payload layout.

use super::BufferError;
use arrow::array::RecordBatch;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use std::io::Read;
use std::path::Path;

/// First bytes of every segment file: name and format version.
pub const MAGIC: &[u8; 8] = b"QDPBUF\x00\x01";
/// Bytes before a frame's payload.
pub const FRAME_HEADER: u64 = 8;
/// Bytes of the payload's fixed prefix.
pub const PREFIX: usize = 28;
/// Frames longer than this are corruption, not data.
pub const MAX_PAYLOAD: u32 = 1 << 30;

/// One stored batch.
#[derive(Debug, Clone)]
pub struct Record {
    /// Position in the buffer, counted from 0 over its whole life.
    pub index: u64,
    /// Wall-clock time of the append, Unix nanoseconds.
    pub appended_ns: i64,
    /// The caller's metadata.
    pub meta: Vec<u8>,
    /// The rows.
    pub batch: RecordBatch,
}

/// The fixed prefix of a payload, readable without decoding the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    /// Record index.
    pub index: u64,
    /// Append time, Unix nanoseconds.
    pub appended_ns: i64,
    /// Rows in the batch.
    pub rows: u64,
}

/// Encodes a whole frame with a placeholder index and header; the writer
/// fills both in with [`seal`] under its lock, once the index is known.
pub fn encode(appended_ns: i64, meta: &[u8], batch: &RecordBatch) -> Result<Vec<u8>, BufferError> {
    let mut out =
        Vec::with_capacity(16 + PREFIX + meta.len() + batch.get_array_memory_size() + 512);
    out.extend_from_slice(&[0u8; FRAME_HEADER as usize]);
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&appended_ns.to_le_bytes());
    out.extend_from_slice(&(batch.num_rows() as u64).to_le_bytes());
    let meta_len =
        u32::try_from(meta.len()).map_err(|_| BufferError::TooLarge(meta.len() as u64))?;
    out.extend_from_slice(&meta_len.to_le_bytes());
    out.extend_from_slice(meta);
    let mut w = StreamWriter::try_new(&mut out, &batch.schema()).map_err(BufferError::Arrow)?;
    w.write(batch).map_err(BufferError::Arrow)?;
    w.finish().map_err(BufferError::Arrow)?;
    drop(w);
    if out.len() as u64 - FRAME_HEADER > MAX_PAYLOAD as u64 {
        return Err(BufferError::TooLarge(out.len() as u64));
    }
    Ok(out)
}

/// Sets the record index of an encoded frame and writes its header
/// (payload length and CRC32C of the payload).
pub fn seal(frame: &mut [u8], index: u64) {
    let h = FRAME_HEADER as usize;
    frame[h..h + 8].copy_from_slice(&index.to_le_bytes());
    let len = (frame.len() - h) as u32;
    let crc = crc32c::crc32c(&frame[h..]);
    frame[..4].copy_from_slice(&len.to_le_bytes());
    frame[4..h].copy_from_slice(&crc.to_le_bytes());
}

/// Splits a frame header into (payload length, checksum).
pub fn parse_header(h: &[u8; 8]) -> (u32, u32) {
    let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    (len, crc)
}

/// Reads the fixed prefix of a payload.
pub fn parse_prefix(p: &[u8]) -> Option<Prefix> {
    if p.len() < PREFIX {
        return None;
    }
    let u = |o: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&p[o..o + 8]);
        a
    };
    Some(Prefix {
        index: u64::from_le_bytes(u(0)),
        appended_ns: i64::from_le_bytes(u(8)),
        rows: u64::from_le_bytes(u(16)),
    })
}

/// Decodes a payload whose checksum was verified.
pub fn decode(segment: &Path, offset: u64, p: &[u8]) -> Result<Record, BufferError> {
    let bad = |reason: String| BufferError::Corrupt {
        segment: segment.to_path_buf(),
        offset,
        reason,
    };
    let prefix = parse_prefix(p).ok_or_else(|| bad("payload shorter than its prefix".into()))?;
    let meta_len = u32::from_le_bytes([p[24], p[25], p[26], p[27]]) as usize;
    let meta_end = PREFIX
        .checked_add(meta_len)
        .filter(|e| *e <= p.len())
        .ok_or_else(|| bad("metadata runs past the payload".into()))?;
    let mut reader =
        StreamReader::try_new(&p[meta_end..], None).map_err(|e| bad(format!("Arrow IPC: {e}")))?;
    let batch = reader
        .next()
        .ok_or_else(|| bad("no record batch in the payload".into()))?
        .map_err(|e| bad(format!("Arrow IPC: {e}")))?;
    Ok(Record {
        index: prefix.index,
        appended_ns: prefix.appended_ns,
        meta: p[PREFIX..meta_end].to_vec(),
        batch,
    })
}

/// What reading one frame at a position found.
pub enum Frame {
    /// A whole frame whose checksum matches.
    Good { payload: Vec<u8> },
    /// Clean end of the file.
    End,
    /// A torn write: the file ends inside this frame, this last frame of
    /// the file fails its checksum, or only zeros are left.
    Torn { reason: String },
    /// A whole frame that fails its checksum or sanity checks.
    Bad { reason: String },
}

/// Reads one frame from `r`, which has `remaining` bytes left in its file.
pub fn read_frame(r: &mut impl Read, remaining: u64) -> std::io::Result<Frame> {
    if remaining == 0 {
        return Ok(Frame::End);
    }
    if remaining < FRAME_HEADER {
        return Ok(Frame::Torn {
            reason: format!("{remaining} bytes, less than a frame header"),
        });
    }
    let mut h = [0u8; 8];
    r.read_exact(&mut h)?;
    let (len, crc) = parse_header(&h);
    if len == 0 && crc == 0 {
        // A file extended by a crash before its data reached the disk reads
        // back as zeros: torn if nothing but zeros follows.
        let mut rest = Vec::new();
        r.take(remaining - FRAME_HEADER).read_to_end(&mut rest)?;
        return Ok(if rest.iter().all(|b| *b == 0) {
            Frame::Torn {
                reason: format!("{remaining} zero bytes at the end of the file"),
            }
        } else {
            Frame::Bad {
                reason: "zero frame header followed by data".into(),
            }
        });
    }
    if len > MAX_PAYLOAD || (len as usize) < PREFIX {
        // A length beyond the file is what a torn header looks like too.
        return Ok(if FRAME_HEADER + len as u64 > remaining {
            Frame::Torn {
                reason: format!("frame length {len} runs past the end of the file"),
            }
        } else {
            Frame::Bad {
                reason: format!("impossible frame length {len}"),
            }
        });
    }
    if FRAME_HEADER + len as u64 > remaining {
        return Ok(Frame::Torn {
            reason: format!(
                "frame of {len} bytes, only {} left in the file",
                remaining - FRAME_HEADER
            ),
        });
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload)?;
    let actual = crc32c::crc32c(&payload);
    if actual != crc {
        let reason = format!("checksum mismatch (stored {crc:08x}, computed {actual:08x})");
        // The last frame of a file failing its checksum is what a crash
        // mid-write leaves when the length reached the disk before the data.
        return Ok(if FRAME_HEADER + len as u64 == remaining {
            Frame::Torn {
                reason: format!("{reason} in the last frame of the file"),
            }
        } else {
            Frame::Bad { reason }
        });
    }
    Ok(Frame::Good { payload })
}
