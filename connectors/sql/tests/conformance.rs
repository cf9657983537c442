//! The SDK conformance kit against the built `sql` library, on a real Postgres table.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, TestDb};
use qdp_sdk::conformance;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_source_passes_the_conformance_kit() {
    let Some(db) = TestDb::create(Server::Postgres).await else {
        return;
    };
    db.exec("CREATE TABLE items (id int PRIMARY KEY, label text, updated_at timestamptz)")
        .await;
    db.exec("CREATE TABLE empty (id int PRIMARY KEY, updated_at timestamptz)")
        .await;
    db.exec(
        "INSERT INTO items SELECT i, 'item ' || i, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 minute' \
         FROM generate_series(1, 10) AS i",
    )
    .await;
    let table = |name: &str| json!({ "table": name, "dataset": name, "primary_key": ["id"], "updated_at": "updated_at" });
    let url = db.url.clone();
    let report = tokio::task::spawn_blocking(move || {
        conformance::source(
            conformance::built_library("qdp_sql").unwrap(),
            json!({ "url": url, "batch_rows": 2, "tables": [table("items")] }),
        )
        .bad_options(json!({ "url": url, "batch_rows": 0, "tables": [table("items")] }))
        .bad_options(json!({ "url": "sqlite://x", "tables": [table("items")] }))
        .bad_options(json!({ "url": url, "tables": [] }))
        .empty_options(json!({ "url": url, "tables": [table("empty")] }))
        .run()
    })
    .await
    .unwrap();
    report.assert_passed();
}
