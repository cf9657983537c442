//! An informal throughput figure, not a test: one million ticks in batches
//! of 10,000 through the built plugin into a local clickhouse-server.
//!
//! `cargo test --release -p qdp-sink-clickhouse --test bench -- --ignored --nocapture`

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use qdp_test_services::ClickHouse;
use serde_json::json;
use std::time::Instant;

const SYMBOLS: [&str; 6] = ["CLZ6", "NGF7", "HOF7", "RBF7", "BZF7", "ESZ6"];

#[test]
#[ignore = "a benchmark: run by hand with --ignored --nocapture"]
fn insert_a_million_ticks_in_batches_of_10k() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let start = now_ns() - 3_600 * 1_000_000_000;
    let batches: Vec<_> = (0..100u64)
        .map(|b| {
            let rows: Vec<Tick> = (0..10_000i64)
                .map(|i| {
                    let n = b as i64 * 10_000 + i;
                    tick(
                        SYMBOLS[(n % 6) as usize],
                        start + n * 1_000,
                        70.0 + (n % 500) as f64 / 100.0,
                        (n % 3 == 0).then_some(1_000.0 + n as f64),
                    )
                })
                .collect();
            ticks(b, &rows)
        })
        .collect();
    let mut s = sink(json!({ "url": ch.url() }));
    // One batch per write, as a pipeline delivering 10k-row batches would.
    let t = Instant::now();
    for b in &batches {
        s.write(std::slice::from_ref(b)).unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "1,000,000 ticks, 100 writes of 10,000 rows: {secs:.2} s, {:.0} rows/s (server {})",
        1e6 / secs,
        ch.version()
    );
    // Ten batches per write (one INSERT of 100k rows).
    ch.query("TRUNCATE TABLE qdp.derivatives_tick_market_data")
        .unwrap();
    let t = Instant::now();
    for group in batches.chunks(10) {
        s.write(group).unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "1,000,000 ticks, 10 writes of 10 x 10,000 rows: {secs:.2} s, {:.0} rows/s",
        1e6 / secs
    );
    assert_eq!(
        number(
            &ch,
            "SELECT count() FROM qdp.derivatives_tick_market_data FINAL"
        ),
        1_000_000
    );
}
