//! The lake sink on a local folder: content-addressed paths, bytes as
//! received, nothing rewritten on a replay, bad input refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{DISTINCT, batch, files, object, samples};
use qdp_sdk::{Context, Sink};
use qdp_sink_lake::{LakeOptions, LakeSink};
use serde_json::json;
use std::os::unix::fs::MetadataExt;

fn sink(root: &std::path::Path) -> LakeSink {
    let o: LakeOptions =
        serde_json::from_value(json!({ "url": format!("file://{}", root.display()) })).unwrap();
    LakeSink::new(o, &Context::default()).unwrap()
}

#[tokio::test]
async fn objects_land_at_their_lake_path_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lake");
    let mut s = sink(&root);
    s.open().await.unwrap();
    let batches = samples();
    s.write(&batches).await.unwrap();

    let mut want: Vec<String> = Vec::new();
    for b in &batches {
        for o in qdp_sdk::raw::from_batch(&b.data).unwrap() {
            let p = o.lake_path();
            assert_eq!(std::fs::read(root.join(&p)).unwrap(), o.content, "{p}");
            want.push(p);
        }
    }
    want.sort();
    want.dedup();
    assert_eq!(files(&root), want);
    assert_eq!(want.len(), DISTINCT);
    // The day is the UTC day of receipt, the name the content's hash.
    let cftc = format!(
        "cftc_cot/2026/05/07/{}.txt",
        qdp_sdk::raw::sha256_hex(b"\"Market\",\"Date\"\n\"CRUDE\",\"260428\"\n")
    );
    assert!(want.contains(&cftc), "{want:?}");

    // A replay (same instance, then a new one) rewrites nothing: same
    // files, same inodes.
    let inodes = |root: &std::path::Path| -> Vec<u64> {
        files(root)
            .iter()
            .map(|f| std::fs::metadata(root.join(f)).unwrap().ino())
            .collect()
    };
    let before = inodes(&root);
    s.write(&batches).await.unwrap();
    let mut again = sink(&root);
    again.open().await.unwrap();
    again.write(&batches).await.unwrap();
    assert_eq!(inodes(&root), before);
    assert_eq!(files(&root), want);
}

#[tokio::test]
async fn a_tampered_object_or_another_category_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lake");
    let mut s = sink(&root);
    s.open().await.unwrap();

    let mut b = batch(0, &[object("s", "a.csv", b"abc", 0)]);
    // Same schema, content swapped under its hash.
    let good = b.data.clone();
    let mut cols = good.columns().to_vec();
    cols[5] = std::sync::Arc::new(qdp_sdk::arrow::array::LargeBinaryArray::from(vec![
        &b"abd"[..],
    ]));
    b.data = qdp_sdk::arrow::array::RecordBatch::try_new(good.schema(), cols).unwrap();
    let e = s.write(&[b]).await.unwrap_err();
    assert!(e.message.contains("does not match its sha256"), "{e}");

    let mut other = batch(1, &[object("s", "a.csv", b"abc", 0)]);
    other.meta.category = "numeric_economic_data".into();
    let e = s.write(&[other]).await.unwrap_err();
    assert!(e.message.contains("raw_object"), "{e}");
    assert!(files(&root).is_empty(), "{:?}", files(&root));
}

#[tokio::test]
async fn an_existing_object_of_another_size_is_left_alone_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lake");
    let o = object("s", "a.csv", b"abc", 0);
    let path = root.join(o.lake_path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"truncated").unwrap();
    let mut s = sink(&root);
    s.open().await.unwrap();
    let e = s.write(&[batch(0, &[o])]).await.unwrap_err();
    assert!(e.message.contains("immutable"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), b"truncated");
}

#[test]
fn bad_urls_and_s3_options_on_a_folder_are_config_errors() {
    for o in [
        json!({ "url": "/var/lake" }),
        json!({ "url": "file://relative" }),
        json!({ "url": "file:///tmp/x", "endpoint": "http://127.0.0.1:9" }),
        json!({ "url": "s3://b/p", "endpoint": "http://127.0.0.1:9" }),
    ] {
        let opts: LakeOptions = serde_json::from_value(o.clone()).unwrap();
        let e = LakeSink::new(opts, &Context::default()).unwrap_err();
        assert_eq!(e.domain, qdp_sdk::ErrorDomain::Config, "{o}: {e}");
    }
}
