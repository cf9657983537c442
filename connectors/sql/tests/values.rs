//! Values as text across column types, a delete marker by value, a column
//! subset matching its declared schema.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, TestDb, get, pass, rows};
use qdp_sdk::{Context, Source};
use qdp_sql::Sql;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_types_render_as_exact_text() {
    let Some(db) = TestDb::create(Server::Postgres).await else {
        return;
    };
    db.exec(
        "CREATE TABLE t (id uuid PRIMARY KEY, flag boolean, n numeric, f float8, r real, \
         big bigint, d date, tm time, ts timestamp(6), j jsonb, tags text[], span interval, \
         is_deleted boolean NOT NULL DEFAULT false, changed timestamptz(3))",
    )
    .await;
    db.exec(
        "INSERT INTO t VALUES ('8c5e7a56-0c6b-4b8e-9d4f-0a1b2c3d4e5f', true, 123456789012345678901234.5678, \
         0.1, 1.5, -9223372036854775808, '2026-04-24', '13:45:00.25', '2026-04-24 13:45:00.123456', \
         '{\"b\": 1, \"a\": [true, null]}', '{x,\"y z\"}', '1 day 02:00:00', true, '2026-04-24 15:00:00.5+02')",
    )
    .await;
    let opts = json!({
        "url": db.url,
        "batch_rows": 1,
        "tables": [{ "table": "public.t", "dataset": "typed", "primary_key": ["id"],
                     "updated_at": "changed", "deleted": { "column": "is_deleted", "value": "true" } }],
    });
    let b = pass(opts, None).await.unwrap();
    let r = rows(&b, "bronze_typed");
    assert_eq!(r.len(), 1);
    let r = &r[0];
    assert_eq!(get(r, "id"), Some("8c5e7a56-0c6b-4b8e-9d4f-0a1b2c3d4e5f"));
    assert_eq!(get(r, "flag"), Some("true"));
    assert_eq!(get(r, "n"), Some("123456789012345678901234.5678"));
    assert_eq!(get(r, "f"), Some("0.1"));
    assert_eq!(get(r, "r"), Some("1.5"));
    assert_eq!(get(r, "big"), Some("-9223372036854775808"));
    assert_eq!(get(r, "d"), Some("2026-04-24"));
    assert_eq!(get(r, "tm"), Some("13:45:00.250"));
    assert_eq!(get(r, "ts"), Some("2026-04-24T13:45:00.123456Z"));
    assert_eq!(get(r, "j"), Some(r#"{"a": [true, null], "b": 1}"#));
    assert_eq!(get(r, "tags"), Some(r#"{x,"y z"}"#));
    assert_eq!(get(r, "span"), Some("1 day 02:00:00"));
    assert_eq!(get(r, "changed"), Some("2026-04-24T13:00:00.500Z"));
    assert_eq!(get(r, "_deleted"), Some("true"));
    assert_eq!(
        get(r, "_row_id"),
        Some("public.t:8c5e7a56-0c6b-4b8e-9d4f-0a1b2c3d4e5f:2026-04-24T13:00:00.500Z")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_types_render_as_exact_text() {
    let Some(db) = TestDb::create(Server::MariaDb).await else {
        return;
    };
    db.exec(
        "CREATE TABLE t (a int unsigned NOT NULL, b varchar(10) NOT NULL, n decimal(30,4), f double, \
         d date, tm time(2), bits bit(9), blobby blob, is_deleted tinyint(1) NOT NULL DEFAULT 0, \
         changed timestamp(3) NULL, PRIMARY KEY (a, b))",
    )
    .await;
    db.exec(
        "INSERT INTO t VALUES (4294967295, 'k|1', 12345678901234567890.1234, 0.1, '2026-04-24', '-838:59:59.5', \
         b'100000001', X'cafe', 1, '2026-04-24 13:00:00.5'), \
         (1, 'k', NULL, NULL, NULL, NULL, NULL, NULL, 0, '2026-04-24 13:00:00.5')",
    )
    .await;
    let opts = json!({
        "url": db.url,
        "batch_rows": 1,
        "tables": [{ "table": "t", "dataset": "typed", "primary_key": ["a", "b"],
                     "updated_at": "changed", "deleted": { "column": "is_deleted", "value": "1" } }],
    });
    let b = pass(opts, None).await.unwrap();
    let r = rows(&b, "bronze_typed");
    assert_eq!(
        r.len(),
        2,
        "pages of one row continue after a composite, unsigned key"
    );
    let (first, second) = (&r[0], &r[1]);
    assert_eq!(
        get(first, "a"),
        Some("1"),
        "ties on updated_at ordered by the key"
    );
    assert_eq!(get(first, "n"), None);
    assert_eq!(get(first, "_deleted"), Some("false"));
    assert_eq!(get(second, "a"), Some("4294967295"));
    assert_eq!(get(second, "n"), Some("12345678901234567890.1234"));
    assert_eq!(get(second, "f"), Some("0.1"));
    assert_eq!(get(second, "d"), Some("2026-04-24"));
    assert_eq!(get(second, "tm"), Some("-838:59:59.500000"));
    assert_eq!(get(second, "bits"), Some("257"));
    assert_eq!(get(second, "blobby"), Some("cafe"));
    assert_eq!(get(second, "changed"), Some("2026-04-24T13:00:00.500Z"));
    assert_eq!(get(second, "_deleted"), Some("true"));
    assert_eq!(
        get(second, "_row_id"),
        Some(format!("{}.t:4294967295|k|1:2026-04-24T13:00:00.500Z", db.name).as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_column_list_is_declared_up_front_and_kept() {
    let Some(db) = TestDb::create(Server::Postgres).await else {
        return;
    };
    db.exec("CREATE TABLE c (id int PRIMARY KEY, name text, secret text, updated_at timestamptz)")
        .await;
    db.exec("INSERT INTO c VALUES (1, 'a', 'hidden', now())")
        .await;
    let opts = json!({
        "url": db.url,
        "tables": [{ "table": "c", "dataset": "c", "primary_key": ["id"], "updated_at": "updated_at",
                     "columns": ["name"] }],
    });
    let src = Sql::new(
        serde_json::from_value(opts.clone()).unwrap(),
        &Context::default(),
    )
    .unwrap();
    let declared = src.outputs();
    assert_eq!(declared.len(), 2);
    assert_eq!(declared[0].port.as_deref(), Some("bronze_c"));
    assert_eq!(declared[1].port.as_deref(), Some("unqualified"));
    let b = pass(opts, None).await.unwrap();
    assert_eq!(b.len(), 1);
    let schema = declared[0].schema.clone().unwrap();
    assert_eq!(
        qdp_sdk::batch::schema_difference(&schema, &b[0].data.schema()),
        None
    );
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(
        names,
        [
            "_row_id",
            "_source_object",
            "_source_sha256",
            "_row_number",
            "name"
        ]
    );
    let r = rows(&b, "bronze_c");
    assert!(
        get(&r[0], "_row_id").unwrap().starts_with("public.c:1:"),
        "the key is read even when not listed"
    );
}
