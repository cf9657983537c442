//! The built `file` sink library through the dynamic loader: every format
//! reads back, a replay adds nothing, a restarted instance skips what is
//! committed, and an unwritable directory is a retryable error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use qdp_sdk::arrow::array::{Int64Array, RecordBatch, StringArray};
use qdp_sdk::arrow::datatypes::{DataType, Field, Schema};
use qdp_sdk::ffi::host::{ForeignInstance, Kind, PluginLibrary};
use qdp_sdk::{Batch, BatchMeta, Context, ErrorDomain};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

fn library() -> Arc<PluginLibrary> {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("libqdp_sink_file.so");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p qdp-sink-file`",
        path.display()
    );
    PluginLibrary::open(&path).unwrap()
}

fn batch(seq: u64, rows: i64) -> Batch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("n", DataType::Int64, false),
        Field::new("s", DataType::Utf8, false),
    ]));
    let n: Vec<i64> = (0..rows).map(|i| seq as i64 * 1000 + i).collect();
    let s: Vec<String> = n.iter().map(|v| format!("v{v}")).collect();
    let data = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(n)),
            Arc::new(StringArray::from(s)),
        ],
    )
    .unwrap();
    Batch {
        data,
        meta: BatchMeta {
            category: "things".into(),
            source_system: "t".into(),
            origin: "src".into(),
            seq,
            producer: "src".into(),
            ..Default::default()
        },
    }
}

fn sink(dir: &Path, format: &str) -> ForeignInstance {
    let mut s = library()
        .instantiate(
            Kind::Sink,
            &json!({ "path": dir, "format": format }),
            &Context::default(),
        )
        .unwrap();
    s.start(None).unwrap();
    s
}

fn parquet_rows(dir: &Path) -> Vec<i64> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir.join("things")).unwrap() {
        let p = e.unwrap().path();
        let r = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&p).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for b in r {
            let b = b.unwrap();
            out.extend(
                b.column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .values()
                    .iter()
                    .copied(),
            );
        }
    }
    out.sort_unstable();
    out
}

#[test]
fn parquet_files_read_back_and_replays_add_nothing() {
    let d = tempfile::tempdir().unwrap();
    let batches: Vec<Batch> = (0..4).map(|s| batch(s, 10)).collect();
    let mut s = sink(d.path(), "parquet");
    s.write(&[]).unwrap();
    s.write(&batches[..2]).unwrap();
    s.write(&batches[..2]).unwrap();
    s.write(&batches[1..]).unwrap();
    let expected: Vec<i64> = (0..4)
        .flat_map(|s| (0..10).map(move |i| s * 1000 + i))
        .collect();
    assert_eq!(parquet_rows(d.path()), expected);
    // A new instance (a restarted process) replaying from the start adds nothing.
    let mut again = sink(d.path(), "parquet");
    again.write(&batches).unwrap();
    assert_eq!(parquet_rows(d.path()), expected);
    assert_eq!(
        std::fs::read_dir(d.path().join("things")).unwrap().count(),
        2
    );
}

#[test]
fn ndjson_and_csv_are_written_whole() {
    for (format, ext) in [("ndjson", "ndjson"), ("csv", "csv")] {
        let d = tempfile::tempdir().unwrap();
        sink(d.path(), format)
            .write(&[batch(0, 3), batch(1, 2)])
            .unwrap();
        let files: Vec<_> = std::fs::read_dir(d.path().join("things"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        assert!(files[0].to_string_lossy().ends_with(ext));
        let text = std::fs::read_to_string(&files[0]).unwrap();
        let lines = text.lines().count();
        assert_eq!(lines, if format == "csv" { 6 } else { 5 }, "{text}");
        assert!(text.contains("v1001"));
    }
}

#[test]
fn leftover_temporaries_are_removed_and_bad_options_refused() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("things")).unwrap();
    std::fs::write(d.path().join("things/.src-half.parquet.tmp"), "torn").unwrap();
    sink(d.path(), "parquet").write(&[batch(0, 1)]).unwrap();
    assert!(!d.path().join("things/.src-half.parquet.tmp").exists());
    let lib = library();
    for bad in [
        json!({}),
        json!({ "path": "x", "format": "xml" }),
        json!({ "path": "x", "compression_level": 0 }),
    ] {
        assert_eq!(
            lib.instantiate(Kind::Sink, &bad, &Context::default())
                .unwrap_err()
                .domain,
            ErrorDomain::Config,
            "{bad}"
        );
    }
}

#[test]
fn an_unwritable_directory_is_a_retryable_external_error() {
    let d = tempfile::tempdir().unwrap();
    let blocker = d.path().join("file-not-dir");
    std::fs::write(&blocker, "x").unwrap();
    let mut s = library()
        .instantiate(Kind::Sink, &json!({ "path": blocker }), &Context::default())
        .unwrap();
    let e = s.write(&[batch(0, 1)]).unwrap_err();
    assert_eq!(e.domain, ErrorDomain::External);
    assert!(e.retryable);
    assert!(e.to_string().contains("path="), "{e}");
}
