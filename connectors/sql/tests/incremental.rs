//! Incremental extraction against the real Postgres and MariaDB of this
//! machine: first load, updates, a soft delete, rows tied with the
//! watermark, a restart from the stored checkpoint, NULL `updated_at`, and
//! the lookback window.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, TestDb, after, get, pass, rows};
use serde_json::json;

fn ids(rows: &[std::collections::BTreeMap<String, Option<String>>]) -> Vec<&str> {
    rows.iter().map(|r| get(r, "id").unwrap()).collect()
}

async fn create_clients(db: &TestDb) {
    let ddl = match db.server {
        Server::Postgres => {
            "CREATE TABLE clients (id bigint PRIMARY KEY, name text, amount numeric(12,2), \
             payload bytea, updated_at timestamptz, deleted_at timestamptz)"
        }
        Server::MariaDb => {
            "CREATE TABLE clients (id bigint PRIMARY KEY, name varchar(50), amount decimal(12,2), \
             payload varbinary(16), updated_at datetime(6) NULL, deleted_at datetime(6) NULL)"
        }
    };
    db.exec(ddl).await;
    for i in 1..=5 {
        db.exec(&format!(
            "INSERT INTO clients (id, name, amount, payload, updated_at) VALUES ({i}, 'client {i}', {i}2.30, {}, {})",
            db.bytes("00ff"),
            db.ts(&format!("2026-01-01 10:0{i}:00"))
        ))
        .await;
    }
    db.exec("INSERT INTO clients (id, name, amount) VALUES (9, 'no timestamp', 1)")
        .await;
}

fn options(db: &TestDb, lookback: &str) -> serde_json::Value {
    json!({
        "url": db.url,
        "batch_rows": 2,
        "lookback": lookback,
        "tables": [{
            "table": "clients",
            "dataset": "clients",
            "primary_key": ["id"],
            "updated_at": "updated_at",
            "deleted": { "column": "deleted_at" },
        }],
    })
}

async fn scenario(db: TestDb) {
    create_clients(&db).await;
    let object = format!("{}.clients", db.schema());

    // First pass: every row, in (updated_at, id) order, pages of 2.
    let first = pass(options(&db, "0s"), None).await.unwrap();
    let bronze = rows(&first, "bronze_clients");
    assert_eq!(ids(&bronze), ["1", "2", "3", "4", "5"]);
    assert_eq!(
        first
            .iter()
            .filter(|b| b.category == "bronze_clients")
            .count(),
        3
    );
    let one = &bronze[0];
    assert_eq!(
        get(one, "_row_id"),
        Some(format!("{object}:1:2026-01-01T10:01:00Z").as_str())
    );
    assert_eq!(get(one, "_source_object"), Some(object.as_str()));
    assert_eq!(get(one, "_source_sha256"), Some(""));
    assert_eq!(get(one, "_row_number"), Some(""));
    assert_eq!(get(one, "_deleted"), Some("false"));
    assert_eq!(get(one, "name"), Some("client 1"));
    assert_eq!(get(one, "amount"), Some("12.30"));
    assert_eq!(get(one, "payload"), Some("00ff"));
    assert_eq!(get(one, "updated_at"), Some("2026-01-01T10:01:00Z"));
    assert_eq!(get(one, "deleted_at"), None);
    // The row without updated_at can never be read incrementally: unqualified, with the reason.
    let unq = rows(&first, "sql_rows_unqualified");
    assert_eq!(unq.len(), 1, "{unq:?}");
    assert_eq!(
        get(&unq[0], "_row_id"),
        Some(format!("{object}:9:").as_str())
    );
    let reason = get(&unq[0], "unqualified_reason").unwrap();
    assert!(reason.contains("`updated_at` is NULL"), "{reason}");
    let row: serde_json::Value = serde_json::from_str(get(&unq[0], "row_json").unwrap()).unwrap();
    assert_eq!(row["name"], "no timestamp");
    let ck1 = after(&first, None);

    // Changes: an update, a soft delete, and two new rows whose updated_at
    // equals the watermark's (ties broken by the key).
    db.exec(&format!(
        "UPDATE clients SET name = 'renamed', updated_at = {} WHERE id = 2",
        db.ts("2026-01-01 10:10:00")
    ))
    .await;
    db.exec(&format!(
        "UPDATE clients SET deleted_at = {t}, updated_at = {t} WHERE id = 3",
        t = db.ts("2026-01-01 10:10:00")
    ))
    .await;
    for i in [6, 7] {
        db.exec(&format!(
            "INSERT INTO clients (id, name, amount, updated_at) VALUES ({i}, 'tied {i}', 0.5, {})",
            db.ts("2026-01-01 10:05:00")
        ))
        .await;
    }
    let second = pass(options(&db, "0s"), ck1.as_ref()).await.unwrap();
    let bronze = rows(&second, "bronze_clients");
    assert_eq!(
        ids(&bronze),
        ["6", "7", "2", "3"],
        "exactly the changed rows"
    );
    assert_eq!(get(&bronze[2], "name"), Some("renamed"));
    assert_eq!(get(&bronze[2], "_deleted"), Some("false"));
    assert_eq!(get(&bronze[3], "_deleted"), Some("true"));
    assert_eq!(get(&bronze[3], "deleted_at"), Some("2026-01-01T10:10:00Z"));
    assert_eq!(
        get(&bronze[3], "_row_id"),
        Some(format!("{object}:3:2026-01-01T10:10:00Z").as_str())
    );
    assert!(
        rows(&second, "sql_rows_unqualified").is_empty(),
        "the NULL row was reported once already"
    );
    let ck2 = after(&second, ck1.as_ref());

    // A restart from the stored checkpoint emits nothing new.
    let third = pass(options(&db, "0s"), ck2.as_ref()).await.unwrap();
    assert!(third.is_empty(), "{} batches after a restart", third.len());

    // A row committed late with an updated_at before the watermark is
    // missed without lookback and caught with it; the rows read again keep
    // their _row_id, so downstream dedup drops them.
    db.exec(&format!(
        "INSERT INTO clients (id, name, amount, updated_at) VALUES (10, 'late', 1, {})",
        db.ts("2026-01-01 10:09:00")
    ))
    .await;
    let without = pass(options(&db, "0s"), ck2.as_ref()).await.unwrap();
    assert!(rows(&without, "bronze_clients").is_empty());
    let with = pass(options(&db, "5m"), ck2.as_ref()).await.unwrap();
    let again = rows(&with, "bronze_clients");
    assert_eq!(ids(&again), ["5", "6", "7", "10", "2", "3"]);
    let earlier: Vec<_> = rows(&first, "bronze_clients")
        .into_iter()
        .chain(rows(&second, "bronze_clients"))
        .filter_map(|r| get(&r, "_row_id").map(String::from))
        .collect();
    for r in again.iter().filter(|r| get(r, "id") != Some("10")) {
        assert!(
            earlier
                .iter()
                .any(|e| Some(e.as_str()) == get(r, "_row_id"))
        );
    }
    // The watermark did not move back: the next pass has nothing new.
    let ck3 = after(&with, ck2.as_ref());
    let last = pass(options(&db, "0s"), ck3.as_ref()).await.unwrap();
    assert!(last.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_incremental_passes() {
    if let Some(db) = TestDb::create(Server::Postgres).await {
        scenario(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_incremental_passes() {
    if let Some(db) = TestDb::create(Server::MariaDb).await {
        scenario(db).await;
    }
}
