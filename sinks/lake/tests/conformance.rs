//! The SDK conformance kit against the built `lake` library, on a folder and
//! on a real S3-compatible server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{files, samples};
use qdp_sdk::conformance;
use qdp_test_services::S3;
use serde_json::json;

#[test]
fn the_lake_sink_conforms_on_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lake");
    let read = root.clone();
    conformance::sink(
        conformance::built_library("qdp_sink_lake").unwrap(),
        json!({ "url": format!("file://{}", root.display()) }),
    )
    .bad_options(json!({ "url": "/no/scheme" }))
    .bad_options(json!({ "url": "ftp://host/x" }))
    .bad_options(json!({ "endpoint": "http://127.0.0.1:1" }))
    .samples(distinct_samples())
    .read_back(move || Ok(files(&read).len() as u64))
    .run()
    .assert_passed();
}

#[test]
fn the_lake_sink_conforms_on_s3() {
    let Some(s3) = S3::start() else {
        return;
    };
    s3.create_bucket("conf");
    let options = json!({
        "url": "s3://conf/lake",
        "endpoint": s3.endpoint(),
        "region": s3.region(),
        "access_key_id": s3.access_key_id(),
        "secret_access_key": s3.secret_access_key(),
        "allow_http": true,
    });
    let s3 = std::rc::Rc::new(s3);
    let server = s3.clone();
    conformance::sink(
        conformance::built_library("qdp_sink_lake").unwrap(),
        options,
    )
    .bad_options(json!({ "url": "s3:///no-bucket" }))
    .bad_options(json!({ "url": "s3://conf/lake", "endpoint": s3.endpoint() }))
    .samples(distinct_samples())
    .read_back(move || Ok(server.keys("conf").len() as u64))
    .run()
    .assert_passed();
}

/// The kit compares the rows written with the objects stored, so every
/// sample row must be a distinct object.
fn distinct_samples() -> Vec<qdp_sdk::Batch> {
    samples().into_iter().take(2).collect()
}
