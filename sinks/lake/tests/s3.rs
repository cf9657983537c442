//! The lake sink against a real S3-compatible server (s3s-fs): objects land
//! under the prefix with the same layout as on a folder, read back byte for
//! byte, a replay adds nothing, wrong credentials fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{DISTINCT, files, samples};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use qdp_sdk::{Context, ErrorDomain, Sink};
use qdp_sink_lake::{LakeOptions, LakeSink};
use qdp_test_services::S3;
use serde_json::{Value, json};

fn options(s3: &S3, bucket: &str, secret: &str) -> Value {
    json!({
        "url": format!("s3://{bucket}/raw/lake"),
        "endpoint": s3.endpoint(),
        "region": s3.region(),
        "access_key_id": s3.access_key_id(),
        "secret_access_key": secret,
        "allow_http": true,
    })
}

fn sink(o: Value) -> LakeSink {
    let o: LakeOptions = serde_json::from_value(o).unwrap();
    LakeSink::new(o, &Context::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn objects_land_in_the_bucket_as_on_a_folder_and_once() {
    let Some(s3) = S3::start() else {
        return;
    };
    s3.create_bucket("lake");
    let batches = samples();
    let mut s = sink(options(&s3, "lake", s3.secret_access_key()));
    s.open().await.unwrap();
    s.write(&batches).await.unwrap();

    // The same batches to a folder: same relative layout under the prefix.
    let dir = tempfile::tempdir().unwrap();
    let mut local = sink(json!({ "url": format!("file://{}", dir.path().display()) }));
    local.open().await.unwrap();
    local.write(&batches).await.unwrap();
    let on_disk: Vec<String> = files(dir.path())
        .into_iter()
        .map(|f| format!("raw/lake/{f}"))
        .collect();
    assert_eq!(on_disk.len(), DISTINCT);
    assert_eq!(s3.keys("lake"), on_disk);

    // Read back through the S3 API, byte for byte.
    let client = AmazonS3Builder::new()
        .with_bucket_name("lake")
        .with_endpoint(s3.endpoint())
        .with_region(s3.region())
        .with_access_key_id(s3.access_key_id())
        .with_secret_access_key(s3.secret_access_key())
        .with_allow_http(true)
        .build()
        .unwrap();
    for b in &batches {
        for o in qdp_sdk::raw::from_batch(&b.data).unwrap() {
            let key = Path::parse(format!("raw/lake/{}", o.lake_path())).unwrap();
            let got = client.get(&key).await.unwrap().bytes().await.unwrap();
            assert_eq!(got.as_ref(), o.content.as_slice(), "{key}");
        }
    }

    // A replay, by the same instance and by a new one: no new object, and
    // the stored ones keep their ETag and modification time.
    let before: Vec<(String, Option<String>, i64)> = list(&client).await;
    s.write(&batches).await.unwrap();
    let mut again = sink(options(&s3, "lake", s3.secret_access_key()));
    again.open().await.unwrap();
    again.write(&batches).await.unwrap();
    assert_eq!(list(&client).await, before);
    assert_eq!(s3.keys("lake"), on_disk);
}

async fn list(client: &impl ObjectStore) -> Vec<(String, Option<String>, i64)> {
    use futures_util::TryStreamExt;
    let mut out: Vec<(String, Option<String>, i64)> = client
        .list(None)
        .map_ok(|m| {
            (
                m.location.to_string(),
                m.e_tag,
                m.last_modified.timestamp_nanos_opt().unwrap_or_default(),
            )
        })
        .try_collect()
        .await
        .unwrap();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_is_an_error_and_writes_nothing() {
    let Some(s3) = S3::start() else {
        return;
    };
    s3.create_bucket("lake");
    let mut s = sink(options(&s3, "lake", "not-the-secret"));
    s.open().await.unwrap();
    let e = s.write(&samples()).await.unwrap_err();
    assert_eq!(e.domain, ErrorDomain::External, "{e}");
    assert!(!e.to_string().contains("not-the-secret"), "{e}");
    assert!(s3.keys("lake").is_empty());
}
