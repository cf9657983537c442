//! Bronze against a real Postgres: raw objects by sha256 (the real WPSR files), bronze tables gaining columns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

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
    let cols = db
        .texts("select column_name::text from information_schema.columns where table_schema = 'bronze' and table_name = 'positions' order by ordinal_position")
        .await;
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
