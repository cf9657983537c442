//! Shared by the files tests: a drop folder in a temp dir and a pass runner.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use qdp_files::{Files, FilesOptions};
use qdp_sdk::arrow::array::{Array, RecordBatch, StringArray};
use qdp_sdk::{Checkpoint, Context, Source, SourceBatch};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Writes `bytes` at `path` and dates it an hour back, so it has settled.
pub fn drop_file(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    age(path, Duration::from_secs(3600));
}

/// Sets the modification time of `path` to `ago` before now.
pub fn age(path: &Path, ago: Duration) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - ago).unwrap();
}

pub fn source(options: Value) -> Files {
    let o: FilesOptions = serde_json::from_value(options).unwrap();
    Files::new(o, &Context::default()).unwrap()
}

/// One pass: start from `from`, read until the end.
pub async fn pass(s: &mut Files, from: Option<Checkpoint>) -> Vec<SourceBatch> {
    s.start(from).await.unwrap();
    let mut out = Vec::new();
    while let Some(b) = s.next_batch().await.unwrap() {
        out.push(b);
    }
    out
}

/// The text column `name` of `b`.
pub fn column(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let c = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", b.schema()));
    let a = c.as_any().downcast_ref::<StringArray>().unwrap();
    (0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
        .collect()
}

/// Column names of `b`.
pub fn names(b: &RecordBatch) -> Vec<String> {
    b.schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

/// Regular files directly in `dir`, sorted.
pub fn top_files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// Today's archive folder, `<archive>/<yyyy>/<mm>/<dd>`.
pub fn archive_today(archive: &Path) -> std::path::PathBuf {
    let d = chrono::Utc::now();
    archive.join(d.format("%Y/%m/%d").to_string())
}
