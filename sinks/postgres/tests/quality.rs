//! Data-quality gates against a real Postgres and a real loopback webhook:
//! a clean load is recorded as published with exact counts; an unqualified
//! share, a null share or a gold view above its threshold fails the load,
//! publishes nothing, records the failure once, alerts once, and the same
//! batches publish after the threshold is raised.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use qdp_sdk::arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use qdp_sdk::{Batch, Context, ErrorDomain, Sink};
use qdp_sink_postgres::{PostgresOptions, PostgresSink};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedReceiver;

const KB: &str = "1000_barrels";
const WEEK: i64 = 7 * 86_400 * NS;

/// A real HTTP server on loopback that hands every POSTed JSON body over.
async fn webhook() -> (String, UnboundedReceiver<Value>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), rx)
}

/// Options of `db` with `quality` (and `extra` top-level options).
fn gated(db: &TempDb, quality: Value, extra: Value) -> PostgresOptions {
    let mut o =
        json!({ "url": db.url(), "platform_worker_name": "test-worker", "quality": quality });
    if let (Some(o), Some(extra)) = (o.as_object_mut(), extra.as_object()) {
        o.extend(extra.clone());
    }
    serde_json::from_value(o).unwrap()
}

async fn open(o: PostgresOptions) -> PostgresSink {
    let ctx = Context {
        pipeline: "macro-warehouse".into(),
        component_id: "warehouse".into(),
        ..Default::default()
    };
    let mut s = PostgresSink::new(o, &ctx).unwrap();
    s.open().await.unwrap();
    s
}

fn crude_rows() -> Vec<Num> {
    vec![
        num(
            "eia_api_v2",
            "WCESTUS1",
            "2026-04-24",
            REL_0424,
            459495.0,
            KB,
        ),
        num(
            "eia_api_v2",
            "WGTSTUS1",
            "2026-04-24",
            REL_0424,
            222299.0,
            KB,
        ),
        num(
            "eia_api_v2",
            "WDISTUS1",
            "2026-04-24",
            REL_0424,
            102344.0,
            KB,
        ),
    ]
}

fn rejects(n: usize, seq: u64) -> Batch {
    let fields: Vec<Option<&str>> = vec![Some("WCRFPUS2"); n];
    let reasons: Vec<Option<&str>> = vec![Some("value `n/a` is not a number"); n];
    text_batch(
        "numeric_economic_data_unqualified",
        "eia",
        seq,
        &[("release_field", fields), ("unqualified_reason", reasons)],
    )
}

/// `b` with `reference_period` null in the first `n` rows.
fn without_period(b: Batch, n: usize) -> Batch {
    let schema = b.data.schema();
    let idx = schema.index_of("reference_period").unwrap();
    let old = b
        .data
        .column(idx)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let new: StringArray = (0..old.len())
        .map(|i| (i >= n).then(|| old.value(i).to_string()))
        .collect();
    let mut cols: Vec<ArrayRef> = b.data.columns().to_vec();
    cols[idx] = Arc::new(new);
    Batch {
        data: RecordBatch::try_new(schema, cols).unwrap(),
        meta: b.meta,
    }
}

type QualityRow = (String, String, i64, i64, i64, i64, i64, Option<String>, i32);

async fn quality_rows(db: &TempDb) -> Vec<QualityRow> {
    db.client()
        .await
        .query(
            "select category, status, rows_in, rows_qualified, rows_unqualified, rows_out, rows_unchanged,
                    reason, attempts
             from ops.load_quality order by id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6), r.get(7), r.get(8)))
        .collect()
}

#[tokio::test]
async fn a_clean_load_is_published_with_exact_counts() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let mut s = open(gated(
        &db,
        json!({ "max_unqualified_ratio": 0.5 }),
        json!({}),
    ))
    .await;
    let rel = releases(&[("eia_api_v2", Some(REL_0424), "WPSR")]);
    let load = [numeric(&crude_rows(), 0), rejects(1, 1), rel];
    s.write_report(&load).await.unwrap();
    s.write_report(&load).await.unwrap();
    let rows = quality_rows(&db).await;
    let p = |c: &str, n_in, q, u, out, same| {
        (
            c.to_string(),
            "published".to_string(),
            n_in,
            q,
            u,
            out,
            same,
            None,
            1,
        )
    };
    assert_eq!(
        rows,
        vec![
            p("economic_data_releases", 1, 1, 0, 1, 0),
            p("numeric_economic_data", 4, 3, 1, 3, 0),
            // The replay: the same rows in, nothing changed in silver.
            p("economic_data_releases", 1, 1, 0, 0, 1),
            p("numeric_economic_data", 4, 3, 1, 0, 3),
        ]
    );
    let c = db.client().await;
    let r = c
        .query_one(
            "select pipeline, component, origins, null_counts, thresholds from ops.load_quality
             where category = 'numeric_economic_data' order by id limit 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, String>(0), "macro-warehouse");
    assert_eq!(r.get::<_, String>(1), "warehouse");
    assert_eq!(r.get::<_, Vec<String>>(2), vec!["eia".to_string()]);
    assert_eq!(r.get::<_, Value>(3), json!({ "reference_period": 0 }));
    assert_eq!(r.get::<_, Value>(4)["max_unqualified_ratio"], json!(0.5));
    assert_eq!(db.count("silver.numeric_economic_data").await, 3);
}

#[tokio::test]
async fn too_many_unqualified_rows_fail_the_load_alert_once_and_publish_after_the_threshold_is_raised()
 {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let (hook, mut posts) = webhook().await;
    let q = |ratio: f64| json!({ "max_unqualified_ratio": ratio, "alert_webhook": hook });
    let mut s = open(gated(&db, q(0.2), json!({}))).await;
    let load = [numeric(&crude_rows(), 0), rejects(2, 1)];
    let e = s.write_report(&load).await.unwrap_err();
    assert_eq!(e.domain, ErrorDomain::Config, "{e}");
    assert!(!e.retryable);
    assert!(
        e.message.contains("quality.max_unqualified_ratio = 0.2")
            && e.message.contains("2 of 5 rows unqualified (ratio 0.400)"),
        "{e}"
    );
    // Nothing published: no silver rows, no rejects, no release_load.
    assert_eq!(db.count("silver.numeric_economic_data").await, 0);
    let rejects_table =
        "select coalesce(to_regclass('silver.numeric_economic_data_unqualified')::text, 'absent')";
    assert_eq!(db.texts(rejects_table).await, vec!["absent"]);
    assert_eq!(db.count("ops.release_load").await, 0);
    let rows = quality_rows(&db).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].1.as_str(), rows[0].2, rows[0].4, rows[0].5),
        ("failed", 5, 2, 0)
    );
    let reason = rows[0].7.clone().unwrap();
    assert!(
        reason.contains("ratio 0.400") && reason.contains("max_unqualified_ratio = 0.2"),
        "{reason}"
    );
    let alert = posts.recv().await.unwrap();
    assert_eq!(alert["event"], "load_quality_failed");
    assert_eq!(alert["component"], "warehouse");
    assert_eq!(alert["categories"][0]["rows_unqualified"], 2);
    assert!(
        alert["message"].as_str().unwrap().contains("ratio 0.400"),
        "{alert}"
    );

    // The runtime retries the same batches: one row, more attempts, no second alert.
    assert!(s.write_report(&load).await.is_err());
    let rows = quality_rows(&db).await;
    assert_eq!((rows.len(), rows[0].8), (1, 2), "{rows:?}");
    assert!(posts.try_recv().is_err(), "a retry alerted again");
    let alerted: bool = db
        .client()
        .await
        .query_one("select alerted_at is not null from ops.load_quality", &[])
        .await
        .unwrap()
        .get(0);
    assert!(alerted);

    // The operator raises the threshold: the same batches publish.
    let mut s = open(gated(&db, q(0.5), json!({}))).await;
    s.write_report(&load).await.unwrap();
    assert_eq!(db.count("silver.numeric_economic_data").await, 3);
    assert_eq!(
        db.count("silver.numeric_economic_data_unqualified").await,
        2
    );
    let rows = quality_rows(&db).await;
    assert_eq!((rows[1].1.as_str(), rows[1].5), ("published", 3));
    let released: bool = db
        .client()
        .await
        .query_one(
            "select released_at is not null from ops.load_quality where status = 'failed'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(released, "the failure is not marked released");
    assert!(posts.try_recv().is_err());
}

#[tokio::test]
async fn missing_values_above_the_null_ratio_fail_the_load() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let quality = json!({
        "max_null_ratio": { "reference_period": 0.9 },
        "categories": { "numeric_economic_data": { "max_null_ratio": { "reference_period": 0.5 } } },
    });
    let mut s = open(gated(&db, quality, json!({}))).await;
    let load = [without_period(numeric(&crude_rows(), 0), 2)];
    let e = s.write_report(&load).await.unwrap_err();
    assert!(
        e.message
            .contains("`reference_period` is null in 2 of 3 qualified rows (ratio 0.667)")
            && e.message.contains(
                "quality.categories.numeric_economic_data.max_null_ratio.reference_period = 0.5"
            ),
        "{e}"
    );
    assert_eq!(db.count("silver.numeric_economic_data").await, 0);
    let nulls: Value = db
        .client()
        .await
        .query_one(
            "select null_counts from ops.load_quality where status = 'failed'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(nulls, json!({ "reference_period": 2 }));
    // One null in three is within the gate.
    s.write_report(&[without_period(numeric(&crude_rows(), 1), 1)])
        .await
        .unwrap();
    assert_eq!(db.count("silver.numeric_economic_data").await, 3);
}

#[tokio::test]
async fn a_gold_view_under_its_gate_rolls_the_whole_load_back() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let (hook, mut posts) = webhook().await;
    let quality = json!({
        "alert_webhook": hook,
        "gold": {
            "gold.us_crude_balance_weekly": { "min_rows": 1, "max_null_ratio": { "commercial_crude_stocks_kbbl": 0.1 } },
            "gold.dim_release": {},
        },
    });
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/warehouse");
    let o = gated(&db, quality, json!({ "gold_sql_dir": dir }));
    let mut s = open(o.clone()).await;
    // Gasoline stocks only: the week's commercial crude stocks are missing.
    let gasoline = vec![num(
        "eia_api_v2",
        "WGTSTUS1",
        "2026-04-24",
        REL_0424,
        222299.0,
        KB,
    )];
    let e = s.write_report(&[numeric(&gasoline, 0)]).await.unwrap_err();
    assert!(
        e.message.contains("gold.us_crude_balance_weekly: `commercial_crude_stocks_kbbl` is null in 1 of 1 rows (ratio 1.000)"),
        "{e}"
    );
    assert_eq!(db.count("silver.numeric_economic_data").await, 0);
    assert_eq!(db.count("gold.us_crude_balance_weekly").await, 0);
    let failed = db
        .texts("select view_name || ' ' || status || ' ' || row_count from ops.gold_quality")
        .await;
    assert_eq!(failed, vec!["gold.us_crude_balance_weekly failed 1"]);
    let reason = db
        .texts("select reason from ops.load_quality where status = 'failed'")
        .await;
    assert!(
        reason[0].starts_with("load not published: gold.us_crude_balance_weekly"),
        "{reason:?}"
    );
    let alert = posts.recv().await.unwrap();
    assert_eq!(alert["gold"][0]["view"], "gold.us_crude_balance_weekly");

    // Releases alone change silver and refresh gold, and leave the balance empty.
    let rel = releases(&[("eia_api_v2", Some(REL_0424), "WPSR")]);
    let e = s
        .write_report(std::slice::from_ref(&rel))
        .await
        .unwrap_err();
    assert!(
        e.message
            .contains("0 rows, below quality.gold.\"gold.us_crude_balance_weekly\".min_rows = 1"),
        "{e}"
    );

    // Crude stocks for both weeks: the balance is complete and publishes.
    let mut rows = gasoline.clone();
    rows.push(num(
        "eia_api_v2",
        "WCESTUS1",
        "2026-04-24",
        REL_0424,
        459495.0,
        KB,
    ));
    rows.push(num(
        "eia_api_v2",
        "WCESTUS1",
        "2026-05-01",
        REL_0424 + WEEK,
        457182.0,
        KB,
    ));
    s.write_report(&[numeric(&rows, 2), rel]).await.unwrap();
    let published = db
        .texts("select view_name || ' ' || row_count || ' ' || null_counts::text from ops.gold_quality where status = 'published' order by view_name")
        .await;
    let releases = db.count("gold.dim_release").await;
    assert!(releases > 0);
    assert_eq!(
        published,
        vec![
            format!("gold.dim_release {releases} {{}}"),
            "gold.us_crude_balance_weekly 2 {\"commercial_crude_stocks_kbbl\": 0}".to_string(),
        ]
    );
    assert_eq!(db.count("silver.numeric_economic_data").await, 3);
}

#[tokio::test]
async fn a_gold_gate_on_a_missing_column_fails_at_open() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let quality =
        json!({ "gold": { "gold.dim_release": { "max_null_ratio": { "no_such_column": 0.1 } } } });
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/warehouse");
    let mut s =
        PostgresSink::from_options(gated(&db, quality, json!({ "gold_sql_dir": dir }))).unwrap();
    let e = s.open().await.unwrap_err();
    assert_eq!(e.domain, ErrorDomain::Config, "{e}");
    assert!(
        e.message.contains("quality.gold.\"gold.dim_release\"")
            && e.message.contains("no_such_column"),
        "{e}"
    );
}

#[tokio::test]
async fn the_recommended_gates_pass_a_clean_week() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    // The block of tests/quality_config.rs, as JSON.
    let quality = json!({
        "max_unqualified_ratio": 0.05,
        "ratio_min_rows": 20,
        "max_null_ratio": { "reference_period": 0.0 },
        "unqualified_of": { "cftc_cot_unqualified": "numeric_economic_data" },
        "alert_webhook": "",
        "categories": { "economic_data_releases": { "max_unqualified_ratio": 0.2 } },
        "gold": {
            "gold.fact_economic_release": { "max_null_ratio": { "period_start_date": 0.0, "unit_amount": 0.0 } },
            "gold.us_crude_balance_weekly": {},
        },
    });
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/warehouse");
    let mut s = open(gated(&db, quality, json!({ "gold_sql_dir": dir }))).await;
    let rel = releases(&[("eia_api_v2", Some(REL_0424), "WPSR")]);
    s.write_report(&[numeric(&crude_rows(), 0), rel])
        .await
        .unwrap();
    let views = db
        .texts("select view_name || ' ' || status || ' ' || row_count from ops.gold_quality order by view_name")
        .await;
    assert_eq!(
        views,
        vec![
            "gold.fact_economic_release published 3",
            "gold.us_crude_balance_weekly published 1"
        ]
    );
}
