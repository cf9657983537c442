//! A sanity check of an ELF shared object before `dlopen` sees it.
//!
//! The dynamic loader maps a library lazily: a file truncated by a failed
//! copy can load, and then the process dies of SIGBUS when it first touches
//! a page past the end. Checking that every segment and the section table
//! lie inside the file turns that into a clear refusal.

/// Why the file cannot be a complete ELF library, or `None` when it looks
/// whole (or is not 64-bit little-endian ELF, which `dlopen` judges alone).
pub(crate) fn truncation(
    bytes_len: u64,
    head: &[u8],
    read_at: &mut dyn FnMut(u64, usize) -> Option<Vec<u8>>,
) -> Option<String> {
    if head.len() < 64 || &head[..4] != b"\x7fELF" || head[4] != 2 || head[5] != 1 {
        return None;
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as u64;
    let u64_at = |b: &[u8], o: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[o..o + 8]);
        u64::from_le_bytes(a)
    };
    let (phoff, shoff) = (u64_at(head, 0x20), u64_at(head, 0x28));
    let (phentsize, phnum) = (u16_at(head, 0x36), u16_at(head, 0x38));
    let (shentsize, shnum) = (u16_at(head, 0x3A), u16_at(head, 0x3C));
    let end_of = |off: u64, n: u64, size: u64| off.checked_add(n.checked_mul(size)?);
    match end_of(shoff, shnum, shentsize) {
        Some(end) if end <= bytes_len => {}
        _ => {
            return Some(format!(
                "the section table ends past the file's {bytes_len} bytes (truncated?)"
            ));
        }
    }
    let Some(table) = end_of(phoff, phnum, phentsize)
        .filter(|end| *end <= bytes_len)
        .and_then(|_| read_at(phoff, (phnum * phentsize) as usize))
    else {
        return Some(format!(
            "the program headers end past the file's {bytes_len} bytes (truncated?)"
        ));
    };
    if phentsize < 40 {
        return Some("program headers are too small".into());
    }
    for i in 0..phnum as usize {
        let h = &table[i * phentsize as usize..];
        let (offset, filesz) = (u64_at(h, 8), u64_at(h, 32));
        if offset.checked_add(filesz).is_none_or(|end| end > bytes_len) {
            return Some(format!(
                "segment {i} ends past the file's {bytes_len} bytes (truncated?)"
            ));
        }
    }
    None
}

/// Reads what [`truncation`] needs from `path` and checks it.
pub(crate) fn check_file(path: &std::path::Path) -> std::io::Result<Option<String>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let mut head = vec![0u8; 64.min(len as usize)];
    f.read_exact(&mut head)?;
    let mut read_at = |off: u64, n: usize| {
        let mut buf = vec![0u8; n];
        f.seek(SeekFrom::Start(off)).ok()?;
        f.read_exact(&mut buf).ok()?;
        Some(buf)
    };
    Ok(truncation(len, &head, &mut read_at))
}
