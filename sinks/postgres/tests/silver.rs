//! Silver tables against a real Postgres: revisions overwrite, replays change nothing, rejects land with reasons, a null key names one row.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use qdp_sdk::ErrorDomain;
use qdp_sink_postgres::UpsertCounts;

const WEEK: i64 = 7 * 86_400 * NS;

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
