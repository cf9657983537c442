//! The Postgres sink's migrations against a real Postgres: applied once, a no-op the second time, one step per concurrent open.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use qdp_sdk::{ErrorDomain, Sink};
use qdp_sink_postgres::PostgresSink;

#[tokio::test]
async fn migrations_apply_once_and_a_second_open_is_a_no_op() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let _a = db.sink().await;
    let steps = qdp_sink_postgres::migrate::steps().len() as i64;
    assert_eq!(db.count("ops.schema_migrations").await, steps);
    let applied = "select version || applied_at::text from ops.schema_migrations order by 1";
    let first = db.texts(applied).await;
    let c = db.client().await;
    let _b = db.sink().await;
    let second = db.texts(applied).await;
    assert_eq!(first, second, "the second open applied something");
    assert!(
        first
            .iter()
            .any(|v| v.starts_with("category:numeric_economic_data:v1"))
    );
    let key: String = c
        .query_one(
            "select indexdef from pg_indexes where schemaname = 'silver' and indexname = 'numeric_economic_data_unique_key'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(key.contains("NULLS NOT DISTINCT"), "{key}");

    // A changed checksum of an applied step is a clear error.
    c.execute(
        "update ops.schema_migrations set checksum = 'x' where version = '0002'",
        &[],
    )
    .await
    .unwrap();
    let mut s = PostgresSink::from_options(db.options()).unwrap();
    let e = s.open().await.unwrap_err();
    assert_eq!(e.domain, ErrorDomain::Config, "{e}");
    assert!(
        e.message.contains("migration 0002") && e.message.contains("checksum"),
        "{e}"
    );
}

#[tokio::test]
async fn concurrent_opens_apply_each_step_once() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let mut sinks: Vec<PostgresSink> = (0..4)
        .map(|_| PostgresSink::from_options(db.options()).unwrap())
        .collect();
    let [a, b, c, d] = &mut sinks[..] else {
        unreachable!()
    };
    let (ra, rb, rc, rd) = tokio::join!(a.open(), b.open(), c.open(), d.open());
    for r in [ra, rb, rc, rd] {
        r.unwrap();
    }
    let steps = qdp_sink_postgres::migrate::steps().len() as i64;
    assert_eq!(db.count("ops.schema_migrations").await, steps);
}
