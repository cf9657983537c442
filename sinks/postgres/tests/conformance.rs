//! The SDK conformance kit against the built `postgres` library and a real
//! Postgres; rows are read back from silver.numeric_economic_data.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use qdp_sdk::conformance;
use serde_json::json;
use std::rc::Rc;

const WEEK: i64 = 7 * 86_400 * NS;

#[test]
fn the_postgres_sink_conforms() {
    let rt = Rc::new(tokio::runtime::Runtime::new().unwrap());
    let Some(db) = rt.block_on(TempDb::create()) else {
        return;
    };
    let db = Rc::new(db);
    let samples: Vec<qdp_sdk::Batch> = (0..3u64)
        .map(|seq| {
            let rows: Vec<Num> = (0..4)
                .map(|i| {
                    let mut n = num(
                        "eia_api_v2",
                        "WCESTUS1",
                        "2026-04-24",
                        REL_0424 + (seq as i64 * 4 + i) * WEEK,
                        1.0 + i as f64,
                        "1000_barrels",
                    );
                    n.field = if i % 2 == 0 { "WCESTUS1" } else { "WGTSTUS1" };
                    n
                })
                .collect();
            let mut b = numeric(&rows, seq);
            b.meta.seq = seq;
            b
        })
        .collect();
    let (rt2, db2) = (Rc::clone(&rt), Rc::clone(&db));
    conformance::sink(
        conformance::built_library("qdp_sink_postgres").unwrap(),
        json!({ "url": db.url() }),
    )
    .bad_options(json!({ "url": "" }))
    .bad_options(json!({ "url": "postgres://qdp:pw@127.0.0.1:notaport/x" }))
    .bad_options(json!({ "url": db.url(), "silver_schema": "Silver-1" }))
    .bad_options(json!({ "url": db.url(), "connect_timeout": "soon" }))
    .samples(samples)
    .read_back(move || Ok(rt2.block_on(db2.count("silver.numeric_economic_data")) as u64))
    .run()
    .assert_passed();
}
