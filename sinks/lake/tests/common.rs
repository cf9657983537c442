//! Shared by the lake tests: raw-object batches and listing a lake folder.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use qdp_sdk::raw::{self, RawObject};
use qdp_sdk::{Batch, BatchMeta};
use std::path::Path;

/// 2026-05-06T14:30:00Z
pub const MAY_6: i64 = 1_778_077_800_000_000_000;

pub fn object(source: &str, name: &str, content: &[u8], day_offset: i64) -> RawObject {
    RawObject {
        source_system: source.into(),
        object_name: name.into(),
        extension: name
            .rsplit_once('.')
            .map(|(_, e)| e.to_string())
            .unwrap_or_default(),
        received_time_ns: MAY_6 + day_offset * 86_400_000_000_000,
        content: content.to_vec(),
    }
}

pub fn batch(seq: u64, objects: &[RawObject]) -> Batch {
    Batch {
        data: raw::to_batch(objects).unwrap(),
        meta: BatchMeta {
            category: raw::RAW_OBJECT.into(),
            source_system: "test".into(),
            origin: "sources.test".into(),
            seq,
            producer: "sources.test".into(),
            ..Default::default()
        },
    }
}

/// Three batches of real-looking documents over two days and two sources,
/// one object repeated (the same poll twice).
pub fn samples() -> Vec<Batch> {
    let a = object(
        "eia_wpsr",
        "https://ir.eia.gov/wpsr/table1.csv",
        b"period,value\n2026-04-24,440.1\n",
        0,
    );
    let b = object(
        "eia_wpsr",
        "https://ir.eia.gov/wpsr/table4.csv",
        b"period,value\n2026-04-24,9.1\n",
        0,
    );
    let c = object(
        "cftc_cot",
        "f_disagg.txt",
        b"\"Market\",\"Date\"\n\"CRUDE\",\"260428\"\n",
        1,
    );
    vec![batch(0, &[a.clone(), b]), batch(1, &[c]), batch(2, &[a])]
}

/// Distinct objects in `samples()`.
pub const DISTINCT: usize = 3;

/// Relative paths of the files under `root`, sorted, without hidden ones.
pub fn files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            walk(base, &p, out);
        } else {
            out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
        }
    }
}
