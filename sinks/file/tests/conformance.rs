//! The SDK conformance kit against the built `file` library, in every format.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use parquet::file::reader::{FileReader, SerializedFileReader};
use qdp_sdk::conformance;
use serde_json::json;
use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn count_rows(dir: &Path, format: &str) -> Result<u64, String> {
    let mut n = 0;
    for f in files(dir) {
        let name = f.display().to_string();
        n += match format {
            "parquet" => {
                let r =
                    SerializedFileReader::new(std::fs::File::open(&f).map_err(|e| e.to_string())?)
                        .map_err(|e| format!("{name}: {e}"))?;
                r.metadata().file_metadata().num_rows() as u64
            }
            "ndjson" => std::fs::read_to_string(&f)
                .map_err(|e| e.to_string())?
                .lines()
                .count() as u64,
            _ => (std::fs::read_to_string(&f)
                .map_err(|e| e.to_string())?
                .lines()
                .count() as u64)
                .saturating_sub(1),
        };
    }
    Ok(n)
}

#[test]
fn the_file_sink_conforms_in_every_format() {
    for format in ["parquet", "ndjson", "csv"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        conformance::sink(
            conformance::built_library("qdp_sink_file").unwrap(),
            json!({ "path": path, "format": format }),
        )
        .bad_options(json!({ "format": format }))
        .bad_options(json!({ "path": path, "format": "xlsx" }))
        .read_back(move || count_rows(&path, format))
        .run()
        .assert_passed();
    }
}
