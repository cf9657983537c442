//! A connection killed in the middle of a pass: the error surfaces, the
//! next call resumes after the last batch handed out, and every row comes
//! out exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, TestDb, get, rows};
use qdp_sdk::{Context, ErrorDomain, Source};
use qdp_sql::Sql;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_connection_resumes_without_loss_or_duplicates() {
    let Some(db) = TestDb::create(Server::Postgres).await else {
        return;
    };
    db.exec("CREATE TABLE t (id int PRIMARY KEY, updated_at timestamptz)")
        .await;
    db.exec(
        "INSERT INTO t SELECT i, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second' \
         FROM generate_series(1, 8) AS i",
    )
    .await;
    let o = serde_json::from_value(json!({
        "url": db.url,
        "batch_rows": 1,
        "tables": [{ "table": "t", "dataset": "t", "primary_key": ["id"], "updated_at": "updated_at" }],
    }))
    .unwrap();
    let mut src = Sql::new(o, &Context::default()).unwrap();
    src.start(None).await.unwrap();
    let mut batches = vec![src.next_batch().await.unwrap().unwrap()];
    // The source reads at most a few pages ahead (its queue holds two), so
    // pages remain to be read on the connection killed now; the call waits
    // until the backend is gone.
    db.exec(&format!(
        "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
        db.name
    ))
    .await;
    let mut errors = 0;
    loop {
        match src.next_batch().await {
            Ok(Some(b)) => batches.push(b),
            Ok(None) => break,
            Err(e) => {
                assert_eq!(e.domain, ErrorDomain::External, "{e}");
                assert!(e.retryable);
                errors += 1;
                assert!(errors < 3, "keeps failing: {e}");
            }
        }
    }
    src.shutdown().await.unwrap();
    assert_eq!(errors, 1, "the killed connection was noticed");
    let ids: Vec<String> = rows(&batches, "bronze_t")
        .iter()
        .map(|r| get(r, "id").unwrap().to_string())
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6", "7", "8"]);
}
