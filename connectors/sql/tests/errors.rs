//! Configuration errors are reported at `start`, before anything is read,
//! with the table, the column and the fix; passwords never show.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, TestDb, pass};
use qdp_sdk::{Context, ErrorDomain, Source};
use qdp_sql::Sql;
use serde_json::json;

fn table(name: &str, pk: &str) -> serde_json::Value {
    json!({ "table": name, "dataset": "clients", "primary_key": [pk], "updated_at": "updated_at" })
}

async fn start_error(options: serde_json::Value) -> qdp_sdk::PluginError {
    match pass(options, None).await {
        Ok(b) => panic!("expected an error, got {} batches", b.len()),
        Err(e) => e,
    }
}

async fn names_table_column_and_fix(db: TestDb) {
    db.exec("CREATE TABLE clients (id int PRIMARY KEY, note int, updated_at timestamp NULL)")
        .await;
    let schema = db.schema().to_string();

    let e = start_error(json!({ "url": db.url, "tables": [table("nope", "id")] })).await;
    assert_eq!(e.domain, ErrorDomain::Config, "{e}");
    assert!(
        e.message
            .contains(&format!("`{schema}.nope` does not exist")),
        "{e}"
    );
    assert!(e.message.contains("fix `table`"), "{e}");
    assert!(
        e.message.contains(&format!("{schema}.clients")),
        "lists the tables there: {e}"
    );

    let e = start_error(json!({ "url": db.url, "tables": [table("clients", "idx")] })).await;
    assert_eq!(e.domain, ErrorDomain::Config, "{e}");
    assert!(
        e.message.contains("column `idx` (in `primary_key`)")
            && e.message.contains("fix `primary_key`"),
        "{e}"
    );
    assert!(
        e.message.contains("its columns: id, note, updated_at"),
        "{e}"
    );

    let mut t = table("clients", "id");
    t["columns"] = json!(["id", "missing"]);
    let e = start_error(json!({ "url": db.url, "tables": [t] })).await;
    assert!(e.message.contains("column `missing` (in `columns`)"), "{e}");

    let mut t = table("clients", "id");
    t["updated_at"] = json!("note");
    let e = start_error(json!({ "url": db.url, "tables": [t], "lookback": "5m" })).await;
    assert_eq!(e.domain, ErrorDomain::Config, "{e}");
    assert!(
        e.message.contains("lookback needs a date or timestamp"),
        "{e}"
    );

    let mut t = table("clients", "note");
    t["updated_at"] = json!("updated_at");
    let e = start_error(json!({ "url": db.url, "tables": [t] })).await;
    assert!(
        e.message.contains("allows NULL"),
        "a nullable key is refused: {e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_config_errors_name_table_column_and_fix() {
    if let Some(db) = TestDb::create(Server::Postgres).await {
        names_table_column_and_fix(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_config_errors_name_table_column_and_fix() {
    if let Some(db) = TestDb::create(Server::MariaDb).await {
        names_table_column_and_fix(db).await;
    }
}

const SECRET: &str = "pw-S3cret-9271";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_never_show_in_errors_or_debug() {
    let port = qdp_test_services::free_port();
    // Nothing listens there: a connection error, retried, without the password.
    for url in [
        format!("postgres://postgres:{SECRET}@127.0.0.1:{port}/x"),
        format!("mysql://root:{SECRET}@127.0.0.1:{port}/x"),
    ] {
        let options = json!({ "url": url, "tables": [table("clients", "id")] });
        let o: qdp_sql::config::Options = serde_json::from_value(options.clone()).unwrap();
        assert!(!format!("{o:?}").contains(SECRET));
        let e = start_error(options).await;
        assert_eq!(e.domain, ErrorDomain::External, "{e}");
        assert!(e.retryable);
        assert!(!e.to_string().contains(SECRET), "{e}");
        assert!(e.message.contains("***"), "{e}");
    }
    // A wrong password at a real server: refused as a config error, without the password.
    if let Some(db) = TestDb::create(Server::MariaDb).await {
        let url = format!("mysql://root:{SECRET}@127.0.0.1:3306/{}", db.name);
        let e = start_error(json!({ "url": url, "tables": [table("clients", "id")] })).await;
        assert_eq!(e.domain, ErrorDomain::Config, "{e}");
        assert!(!e.to_string().contains(SECRET), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_checkpoint_is_a_config_error() {
    let o = serde_json::from_value(json!({
        "url": "postgres://postgres@127.0.0.1:1/x",
        "tables": [table("clients", "id")],
    }))
    .unwrap();
    let mut src = Sql::new(o, &Context::default()).unwrap();
    let e = src
        .start(Some(qdp_sdk::Checkpoint(b"{\"offset\":3}".to_vec())))
        .await
        .unwrap_err();
    assert_eq!(e.domain, ErrorDomain::Config, "{e}");
    assert!(e.message.contains("not one of the sql source"), "{e}");
}
