//! Faults against a real Postgres: a write failing midway, the server down or killing the connection, passwords kept out of errors, a broken gold file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use qdp_sdk::{ErrorDomain, Sink};
use qdp_sink_postgres::PostgresSink;

#[tokio::test]
async fn a_write_failing_midway_leaves_nothing() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let mut s = db.sink().await;
    let good = numeric(
        &[num(
            "eia_api_v2",
            "WCESTUS1",
            "2026-04-24",
            REL_0424,
            1.0,
            "1000_barrels",
        )],
        0,
    );
    let mut bad_row = num(
        "eia_api_v2",
        "WGTSTUS1",
        "2026-04-24",
        REL_0424,
        2.0,
        "1000_barrels",
    );
    bad_row.value = None;
    let bad = numeric(&[bad_row], 1);
    let raw = raw_batch(
        &[wpsr_file("table1_week_ending_2026-05-08.csv")],
        REL_0424,
        0,
    );
    let rej = text_batch(
        "numeric_economic_data_unqualified",
        "eia",
        0,
        &[("unqualified_reason", vec![Some("x")])],
    );
    let e = s
        .write_report(&[raw, good, rej.clone(), bad])
        .await
        .unwrap_err();
    assert_eq!(e.domain, ErrorDomain::Config, "{e}");
    assert!(!e.retryable);
    assert!(e.message.contains("release_field_value"), "{e}");
    assert_eq!(db.count("silver.numeric_economic_data").await, 0);
    assert_eq!(db.count("bronze.raw_object").await, 0);
    let c = db.client().await;
    let t: i64 = c
        .query_one(
            "select count(*) from pg_tables where tablename = 'numeric_economic_data_unqualified'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        t, 0,
        "the reject table created in the failed write was rolled back"
    );
    // The sink goes on working after the failed write.
    let r = s.write_report(&[rej]).await.unwrap();
    assert_eq!(
        r.appends["silver.numeric_economic_data_unqualified"].inserted,
        1
    );
}

#[tokio::test]
async fn postgres_down_is_retryable_and_names_host_port_without_the_password() {
    let port = qdp_test_services::free_port();
    let url = format!("postgres://qdp:Sup3rS3cret@127.0.0.1:{port}/warehouse");
    let mut s = PostgresSink::from_options(options(&url)).unwrap();
    let e = s.open().await.unwrap_err();
    assert_eq!(e.domain, ErrorDomain::External, "{e}");
    assert!(e.retryable, "{e}");
    let text = format!("{e} {e:?}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(!text.contains("Sup3rS3cret"), "{text}");
    assert!(text.contains("qdp:***@"), "{text}");
    let e = s
        .write(&[numeric(
            &[num("a", "b", "2026-04-24", REL_0424, 1.0, "1_x")],
            0,
        )])
        .await
        .unwrap_err();
    assert!(
        e.retryable && !format!("{e:?}").contains("Sup3rS3cret"),
        "{e:?}"
    );
}

#[tokio::test]
async fn the_password_is_not_in_server_errors() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    // Trust auth ignores the password, so the connection works with one in the URL.
    let url = format!("postgres://postgres:Sup3rS3cret@127.0.0.1:5432/{}", db.name);
    let mut s = PostgresSink::from_options(options(&url)).unwrap();
    s.open().await.unwrap();
    assert!(!s.shown_url().contains("Sup3rS3cret"));
    let mut bad = num(
        "eia_api_v2",
        "Sup3rS3cret",
        "2026-04-24",
        REL_0424,
        1.0,
        "1000_barrels",
    );
    bad.value = None;
    let e = s.write(&[numeric(&[bad], 0)]).await.unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(text.contains("null value"), "{text}");
    assert!(!text.contains("Sup3rS3cret"), "{text}");
}

#[tokio::test]
async fn unknown_categories_are_refused() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let mut s = db.sink().await;
    let b = text_batch("conformance_sample", "x", 0, &[("a", vec![Some("1")])]);
    let e = s.write(&[b]).await.unwrap_err();
    assert_eq!(e.domain, ErrorDomain::Config);
    assert!(e.message.contains("no table for category"), "{e}");
}

#[tokio::test]
async fn a_killed_connection_is_retryable_and_the_next_write_reconnects() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let mut s = db.sink().await;
    let row = |v: f64| {
        numeric(
            &[num(
                "eia_api_v2",
                "WCESTUS1",
                "2026-04-24",
                REL_0424,
                v,
                "1000_barrels",
            )],
            0,
        )
    };
    s.write(&[row(1.0)]).await.unwrap();
    let c = db.client().await;
    let killed: i64 = c
        .query_one(
            "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity
             where datname = current_database() and application_name = 'qdp-sink-postgres') k",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(killed, 1);
    // The sink may notice the closed connection before the write (and
    // reconnect) or during it (a retryable error); either way the retry lands.
    let mut tries = 0;
    loop {
        tries += 1;
        match s.write(&[row(2.0)]).await {
            Ok(()) => break,
            Err(e) => {
                assert!(e.retryable, "{e}");
                assert!(tries < 2, "still failing after a retry: {e}");
            }
        }
    }
    let v: f64 = c
        .query_one(
            "select release_field_value from silver.numeric_economic_data",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, 2.0);
}

#[tokio::test]
async fn a_broken_gold_file_is_a_config_error_naming_it() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(&db.name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("10_ok.sql"),
        "create or replace view gold.one as select 1 as x;",
    )
    .unwrap();
    std::fs::write(
        dir.join("20_broken.sql"),
        "create or replace vew gold.two as select 2;",
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not sql").unwrap();
    let mut o = db.options();
    o.gold_sql_dir = Some(dir.clone());
    let mut s = PostgresSink::from_options(o).unwrap();
    let e = s.open().await.unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(e.domain, ErrorDomain::Config, "{e}");
    assert!(e.to_string().contains("20_broken.sql"), "{e}");
    // Gold runs in one transaction: the good file's view was rolled back too.
    let views: i64 = db
        .client()
        .await
        .query_one(
            "select count(*) from pg_views where schemaname = 'gold'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(views, 0);
}
