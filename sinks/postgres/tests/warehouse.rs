//! The sink against a real Postgres: migrations, upserts, rejects, raw
//! objects, bronze datasets, atomic writes and errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use qdp_sdk::{ErrorDomain, Sink};
use qdp_sink_postgres::{PostgresSink, UpsertCounts};

const WEEK: i64 = 7 * 86_400 * NS;

#[tokio::test]
async fn migrations_apply_once_and_a_second_open_is_a_no_op() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let _a = db.sink().await;
    let steps = qdp_sink_postgres::migrate::steps().len() as i64;
    assert_eq!(db.count("ops.schema_migrations").await, steps);
    let c = db.client().await;
    let first: Vec<String> = c
        .query(
            "select version || applied_at::text from ops.schema_migrations order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let _b = db.sink().await;
    let second: Vec<String> = c
        .query(
            "select version || applied_at::text from ops.schema_migrations order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
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

#[tokio::test]
async fn a_revision_overwrites_and_a_replay_changes_nothing() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let mut s = db.sink().await;
    let rows = vec![
        num(
            "eia_api_v2",
            "WCESTUS1",
            "2026-04-24",
            REL_0424,
            459495.0,
            "1000_barrels",
        ),
        num(
            "eia_api_v2",
            "WGTSTUS1",
            "2026-04-24",
            REL_0424,
            222299.0,
            "1000_barrels",
        ),
        num(
            "eia_api_v2",
            "WCESTUS1",
            "2026-05-01",
            REL_0424 + WEEK,
            457182.0,
            "1000_barrels",
        ),
    ];
    let r = s.write_report(&[numeric(&rows, 0)]).await.unwrap();
    let counts = r.upserts["silver.numeric_economic_data"];
    assert_eq!(
        counts,
        UpsertCounts {
            inserted: 3,
            updated: 0,
            unchanged: 0
        }
    );

    let replay = s.write_report(&[numeric(&rows, 0)]).await.unwrap();
    assert_eq!(
        replay.upserts["silver.numeric_economic_data"],
        UpsertCounts {
            inserted: 0,
            updated: 0,
            unchanged: 3
        }
    );
    assert!(!replay.silver_changed());

    let mut revised = rows.clone();
    revised[0].value = Some(459500.0);
    let r = s.write_report(&[numeric(&revised, 1)]).await.unwrap();
    assert_eq!(
        r.upserts["silver.numeric_economic_data"],
        UpsertCounts {
            inserted: 0,
            updated: 1,
            unchanged: 2
        }
    );
    let c = db.client().await;
    let v: f64 = c
        .query_one(
            "select release_field_value from silver.numeric_economic_data where release_field = 'WCESTUS1' and reference_period = '2026-04-24'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, 459500.0);
    assert_eq!(db.count("silver.numeric_economic_data").await, 3);
    let meta: (String, String) = c
        .query_one("select source_table_name, platform_worker_name from silver.numeric_economic_data limit 1", &[])
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(
        meta,
        (
            "eia.numeric_economic_data".to_string(),
            "test-worker".to_string()
        )
    );

    // The same key twice in one write: the later row wins, counted once.
    let mut twice = vec![revised[1].clone(), revised[1].clone()];
    twice[1].value = Some(1.0);
    let r = s.write_report(&[numeric(&twice, 2)]).await.unwrap();
    assert_eq!(
        r.upserts["silver.numeric_economic_data"],
        UpsertCounts {
            inserted: 0,
            updated: 1,
            unchanged: 1
        }
    );
    // The first sighting of each edition is kept in ops.release_load.
    assert_eq!(db.count("ops.release_load").await, 2);
}

#[tokio::test]
async fn unqualified_rows_land_with_reasons_once() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let mut s = db.sink().await;
    let b = text_batch(
        "numeric_economic_data_unqualified",
        "eia",
        7,
        &[
            ("release_field", vec![Some("WCESTUS1"), Some("WGTSTUS1")]),
            ("release_field_value", vec![Some("4x2"), None]),
            (
                "unqualified_reason",
                vec![Some("value `4x2` is not a number"), Some("value missing")],
            ),
        ],
    );
    let r = s.write_report(std::slice::from_ref(&b)).await.unwrap();
    assert_eq!(
        r.appends["silver.numeric_economic_data_unqualified"].inserted,
        2
    );
    let r = s.write_report(std::slice::from_ref(&b)).await.unwrap();
    assert_eq!(
        r.appends["silver.numeric_economic_data_unqualified"].skipped,
        2
    );
    let c = db.client().await;
    let rows = c
        .query(
            "select release_field_value, unqualified_reason, _origin, _seq, _row_index from silver.numeric_economic_data_unqualified order by _row_index",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].get::<_, Option<String>>(0).as_deref(), Some("4x2"));
    assert_eq!(rows[0].get::<_, String>(1), "value `4x2` is not a number");
    assert_eq!(
        (
            rows[1].get::<_, String>(2),
            rows[1].get::<_, i64>(3),
            rows[1].get::<_, i64>(4)
        ),
        ("eia".into(), 7, 1)
    );

    // A reject without a reason is refused, not stored half.
    let bad = text_batch(
        "x_unqualified",
        "eia",
        8,
        &[("a", vec![Some("1")]), ("unqualified_reason", vec![None])],
    );
    let e = s.write_report(&[bad]).await.unwrap_err();
    assert_eq!(e.domain, ErrorDomain::Config);
    assert!(e.message.contains("unqualified_reason"), "{e}");
}

fn wpsr_file(name: &str) -> (String, Vec<u8>) {
    let path = qdp_test_services::real_data(&format!("eia/wpsr_table1_csv/{name}"));
    (
        name.to_string(),
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
}

fn raw_batch(files: &[(String, Vec<u8>)], received_ns: i64, seq: u64) -> qdp_sdk::Batch {
    let objects: Vec<qdp_sdk::raw::RawObject> = files
        .iter()
        .map(|(n, b)| qdp_sdk::raw::RawObject {
            source_system: "eia_wpsr_csv".into(),
            object_name: n.clone(),
            extension: "csv".into(),
            received_time_ns: received_ns,
            content: b.clone(),
        })
        .collect();
    qdp_sdk::Batch {
        data: qdp_sdk::raw::to_batch(&objects).unwrap(),
        meta: meta("raw_object", "eia", seq),
    }
}

#[tokio::test]
async fn raw_objects_dedupe_by_sha256() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let mut s = db.sink().await;
    let a = wpsr_file("table1_week_ending_2026-04-24.csv");
    let b = wpsr_file("table1_week_ending_2026-05-01.csv");
    let r = s
        .write_report(&[
            raw_batch(&[a.clone(), b.clone()], REL_0424, 0),
            raw_batch(std::slice::from_ref(&a), REL_0424 + NS, 1),
        ])
        .await
        .unwrap();
    let n = r.appends["bronze.raw_object"];
    assert_eq!((n.inserted, n.skipped), (2, 1));
    let c = db.client().await;
    let row = c
        .query_one(
            "select content, size, sha256 from bronze.raw_object where object_name = 'table1_week_ending_2026-04-24.csv'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Vec<u8>>(0), a.1);
    assert_eq!(row.get::<_, i64>(1), 6532);
    assert!(row.get::<_, String>(2).starts_with("21b912b0ec2ade96"));
    assert_eq!(db.count("bronze.raw_object").await, 2);
}

#[tokio::test]
async fn bronze_tables_gain_columns_and_replays_add_nothing() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let mut s = db.sink().await;
    let meta_cols = |ids: [&'static str; 2]| {
        vec![
            ("_row_id", ids.iter().map(|i| Some(*i)).collect::<Vec<_>>()),
            ("_source_object", vec![Some("positions.csv"); 2]),
            ("_source_sha256", vec![Some("abc"); 2]),
            ("_row_number", vec![Some("1"), Some("2")]),
        ]
    };
    let mut c1 = meta_cols(["abc:1", "abc:2"]);
    c1.push(("book", vec![Some("crude"), Some("gas")]));
    c1.push(("Net Position (lots)", vec![Some("12"), None]));
    let b1 = text_batch("bronze_positions", "files", 0, &c1);
    let mut c2 = meta_cols(["def:1", "def:2"]);
    c2.push(("book", vec![Some("crude"), Some("gas")]));
    c2.push(("loaded_at", vec![Some("2026-05-01"), Some("2026-05-01")]));
    let b2 = text_batch("bronze_positions", "files", 1, &c2);
    let r = s.write_report(std::slice::from_ref(&b1)).await.unwrap();
    assert_eq!(r.appends["bronze.positions"].inserted, 2);
    let r = s.write_report(&[b1, b2.clone()]).await.unwrap();
    assert_eq!(
        (
            r.appends["bronze.positions"].inserted,
            r.appends["bronze.positions"].skipped
        ),
        (2, 2)
    );
    let c = db.client().await;
    let cols: Vec<String> = c
        .query(
            "select column_name::text from information_schema.columns where table_schema = 'bronze' and table_name = 'positions' order by ordinal_position",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        &cols[..4],
        &["_row_id", "_source_object", "_source_sha256", "_row_number"]
    );
    assert!(
        cols.contains(&"Net Position (lots)".to_string())
            && cols.contains(&"loaded_at".to_string()),
        "{cols:?}"
    );
    let v: Option<String> = c
        .query_one(
            "select \"Net Position (lots)\" from bronze.positions where _row_id = 'abc:1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(v.as_deref(), Some("12"));
    let old: Option<String> = c
        .query_one(
            "select loaded_at from bronze.positions where _row_id = 'abc:1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(old, None);
    assert_eq!(db.count("bronze.positions").await, 4);
}

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

#[tokio::test]
async fn a_null_release_time_still_names_one_row() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let mut s = db.sink().await;
    let table = "silver.economic_data_releases";
    let first = releases(&[("eia_api_v2", None, "Weekly Petroleum Status Report")]);
    let r = s.write_report(std::slice::from_ref(&first)).await.unwrap();
    assert_eq!(r.upserts[table].inserted, 1);
    let r = s.write_report(std::slice::from_ref(&first)).await.unwrap();
    assert_eq!(r.upserts[table].unchanged, 1);
    let reworded = releases(&[("eia_api_v2", None, "Weekly Petroleum Status Report (WPSR)")]);
    let r = s.write_report(&[reworded]).await.unwrap();
    assert_eq!(r.upserts[table].updated, 1);
    assert_eq!(db.count(table).await, 1);
}
