//! The gold SQL of examples/warehouse against rows written through the sink.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use qdp_sdk::Sink;
use qdp_sink_postgres::PostgresSink;

const WEEK: i64 = 7 * 86_400 * NS;
const KB: &str = "1000_barrels";
const MB: &str = "1000000_barrels";

/// The `*.sql` files of examples/warehouse, which the sink runs every one of.
fn gold_file_count() -> usize {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/warehouse");
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sql")
        })
        .count()
}

type Week = (
    String,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
);

async fn weeks(c: &tokio_postgres::Client) -> Vec<Week> {
    c.query(
        "select week_ending::text, commercial_crude_stocks_kbbl, commercial_crude_stocks_change_kbbl,
                gasoline_stocks_kbbl, distillate_stocks_kbbl, refinery_utilisation_pct,
                crude_production_kbd, crude_net_imports_kbd
         from gold.us_crude_balance_weekly order by week_ending",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6), r.get(7)))
    .collect()
}

type Disagreement = (String, String, String, Option<f64>, f64);

async fn disagreements(c: &tokio_postgres::Client) -> Vec<Disagreement> {
    c.query(
        "select release_field, reference_period, kind, difference_in_base_unit, tolerance_in_base_unit
         from gold.eia_source_disagreement order by release_field, reference_period",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
    .collect()
}

#[tokio::test]
async fn gold_views_give_the_expected_numbers() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let mut o = db.options();
    o.gold_sql_dir = Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/warehouse").into());
    let mut s = PostgresSink::from_options(o).unwrap();
    s.open().await.unwrap();
    let (w0, w1, w2) = (REL_0424 - WEEK, REL_0424, REL_0424 + WEEK);
    let api = "eia_api_v2";
    let csv = "eia_wpsr_csv";
    let rows = vec![
        num(api, "WCESTUS1", "2026-04-17", w0, 460000.0, KB),
        num(api, "WCESTUS1", "2026-04-24", w1, 459495.0, KB),
        num(api, "WCESTUS1", "2026-05-01", w2, 457182.0, KB),
        num(api, "WGTSTUS1", "2026-04-24", w1, 222299.0, KB),
        num(api, "WPULEUS3", "2026-05-01", w2, 89.2, "1_percent"),
        num(
            api,
            "WCRFPUS2",
            "2026-05-01",
            w2,
            13573.0,
            "1000_barrels_per_day",
        ),
        // A unit of the wrong kind: left out of the balance, flagged as a disagreement.
        num(
            api,
            "WDISTUS1",
            "2026-05-01",
            w2,
            102344.0,
            "1000_barrels_per_day",
        ),
        num(csv, "WCESTUS1", "2026-04-24", w1, 459.495, MB),
        num(csv, "WCESTUS1", "2026-05-01", w2, 457.182, MB),
        num(csv, "WGTSTUS1", "2026-04-24", w1, 222.310, MB),
        num(csv, "WGTSTUS1", "2026-05-01", w2, 219.795, MB),
        num(csv, "WDISTUS1", "2026-05-01", w2, 102.344, MB),
        num(
            csv,
            "WCRNTUS2",
            "2026-05-01",
            w2,
            727.0,
            "1000_barrels_per_day",
        ),
    ];
    let rel = releases(&[(
        api,
        Some(w1),
        "Weekly Petroleum Status Report, week ending 2026-04-24",
    )]);
    let r = s.write_report(&[numeric(&rows, 0), rel]).await.unwrap();
    assert_eq!(r.gold_files, gold_file_count());
    let c = db.client().await;

    let d = c
        .query_one(
            "select count(*), min(date_key)::text, max(date_key)::text from gold.dim_date",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            d.get::<_, i64>(0),
            d.get::<_, String>(1),
            d.get::<_, String>(2)
        ),
        (20, "2026-04-17".into(), "2026-05-06".into())
    );

    let rel = c
        .query(
            "select release_key, release_frequency, reference_period, release_content from gold.dim_release order by release_time",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rel.len(), 3);
    assert_eq!(rel[1].get::<_, String>(0), "EIA-WPSR@2026-04-29T14:30:00Z");
    assert_eq!(
        rel[1].get::<_, Option<String>>(1).as_deref(),
        Some("weekly")
    );
    assert_eq!(
        rel[1].get::<_, Option<String>>(2).as_deref(),
        Some("2026-04-24")
    );
    assert!(
        rel[1]
            .get::<_, Option<String>>(3)
            .unwrap_or_default()
            .contains("2026-04-24")
    );
    assert_eq!(
        rel[2].get::<_, Option<String>>(2).as_deref(),
        Some("2026-05-01")
    );

    assert_eq!(
        db.count("gold.fact_economic_release").await,
        rows.len() as i64
    );
    let unkeyed: i64 = c
        .query_one("select count(*) from gold.fact_economic_release where release_key is null or period_start_date is null", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(unkeyed, 0);

    let w = weeks(&c).await;
    assert_eq!(w.len(), 3);
    assert_eq!(
        w[0],
        (
            "2026-04-17".into(),
            Some(460000.0),
            None,
            None,
            None,
            None,
            None,
            None
        )
    );
    // The CSV wins where both publish (gasoline 222.310 Mbbl, not the API's 222299 kbbl).
    assert_eq!(
        w[1],
        (
            "2026-04-24".into(),
            Some(459495.0),
            Some(-505.0),
            Some(222310.0),
            None,
            None,
            None,
            None
        )
    );
    assert_eq!(
        w[2],
        (
            "2026-05-01".into(),
            Some(457182.0),
            Some(-2313.0),
            Some(219795.0),
            Some(102344.0),
            Some(89.2),
            Some(13573.0),
            Some(727.0)
        )
    );

    let d = disagreements(&c).await;
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!(
        (d[0].0.as_str(), d[0].1.as_str(), d[0].2.as_str()),
        ("WDISTUS1", "2026-05-01", "unit")
    );
    // 222.310 is stored as the float 222.31: its last shown digit is 10,000
    // barrels, so the tolerance is half that (a float keeps no trailing zeros).
    assert_eq!(
        d[1],
        (
            "WGTSTUS1".into(),
            "2026-04-24".into(),
            "value".into(),
            Some(-11000.0),
            5000.0
        )
    );

    // The next CSV edition republishes 2026-05-01 with a revised stock: the
    // fact shows the latest edition, the balance and the disagreement follow.
    let revised = vec![num(csv, "WCESTUS1", "2026-05-01", w2 + WEEK, 457.190, MB)];
    let r = s.write_report(&[numeric(&revised, 1)]).await.unwrap();
    assert_eq!(r.gold_files, gold_file_count());
    let f = c
        .query_one(
            "select value, editions from gold.fact_economic_release where source_system_name = 'eia_wpsr_csv' and release_field = 'WCESTUS1' and reference_period = '2026-05-01'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!((f.get::<_, f64>(0), f.get::<_, i64>(1)), (457.19, 2));
    let w = weeks(&c).await;
    assert_eq!((w[2].1, w[2].2), (Some(457190.0), Some(-2305.0)));
    let d = disagreements(&c).await;
    assert_eq!(d.len(), 3, "{d:?}");
    assert_eq!(d[0].0, "WCESTUS1");
    assert_eq!(d[0].3, Some(-8000.0));

    // A replay changes nothing in silver, so gold is not re-run.
    let r = s.write_report(&[numeric(&revised, 1)]).await.unwrap();
    assert_eq!(r.gold_files, 0);
}
