//! `qdp bench history`: ticks from the disk buffer into an Iceberg table,
//! against the same pipeline writing the same batches straight to Parquet
//! files (the `file` sink), in the same run. Both pipelines are
//! market-sim → disk buffer → map → sink, with the same batch policy, so
//! the ratio is what Iceberg's partitioning, manifests and catalog commits
//! cost over plain Parquet. Medians of several runs, alternated.

use crate::bench::{median, run_to_end};
use qdp_core::buffer::BufferOptions;
use qdp_core::config::{BatchPolicy, BufferConfig};
use qdp_core::{PipelineBuilder, Registry};
use qdp_iceberg::{IcebergOptions, inspect};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// One commit per million rows or per second, whichever comes first.
const POLICY: BatchPolicy = BatchPolicy {
    max_rows: 1_000_000,
    max_bytes: 512 << 20,
    max_wait: Duration::from_secs(1),
};

/// Runs the benchmark and prints its line last.
pub async fn run(ticks: u64, runs: usize) -> Result<(), String> {
    let (mut ice, mut base) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let b = lane(
            dir.path(),
            ticks,
            "parquet",
            "file",
            parquet_sink(dir.path()),
        )
        .await?;
        let options = iceberg_sink(dir.path());
        let r = lane(dir.path(), ticks, "history", "iceberg", options.clone()).await?;
        check_table(&options, ticks).await?;
        println!(
            "run {}: iceberg {r:.0} ticks/s, parquet files {b:.0} ticks/s",
            i + 1
        );
        ice.push(r);
        base.push(b);
    }
    let (r, b) = (median(&mut ice), median(&mut base));
    println!(
        "bench history ticks_per_s={r:.0} baseline_ticks_per_s={b:.0} ratio={:.2}",
        r / b
    );
    Ok(())
}

fn parquet_sink(dir: &Path) -> Value {
    json!({ "path": dir.join("parquet"), "format": "parquet" })
}

fn iceberg_sink(dir: &Path) -> Value {
    json!({
        "catalog_uri": format!("sqlite://{}/catalog.db?mode=rwc", dir.display()),
        "warehouse": format!("file://{}/warehouse", dir.display()),
    })
}

/// market-sim → buffer → map → `sink`; ticks/s from start to the last commit.
async fn lane(dir: &Path, ticks: u64, id: &str, sink: &str, options: Value) -> Result<f64, String> {
    let p = PipelineBuilder::new(&format!("bench-{id}"), dir.join(format!("state-{id}")))
        .source(
            "sim",
            "market_sim",
            json!({ "seed": 42, "rate": 0, "max_ticks": ticks, "batch_size": 8192 }),
        )
        .buffer(
            "sim",
            BufferConfig {
                dir: None,
                options: BufferOptions::default(),
            },
        )
        .transform(
            "ticks",
            "map",
            &["sim"],
            json!({
                "category": "derivatives_tick_market_data",
                "source_system": "sim",
                "fields": {
                    "exchange_code": { "from": "exchange" },
                    "symbol_code": { "from": "symbol" },
                    "symbol_type": { "from": "instrument_type" },
                    "tick_time": { "from": "ts_event_ns", "epoch": "ns" }
                }
            }),
        )
        .sink(id, sink, &["ticks"], options, POLICY.clone())
        .build(Registry::with_builtins())
        .await
        .map_err(|e| e.to_string())?;
    let (secs, metrics) = run_to_end(p, id).await?;
    let written = metrics.rows_out.load(Relaxed);
    if written != ticks {
        return Err(format!(
            "bench history: {sink} committed {written} rows of {ticks}"
        ));
    }
    Ok(ticks as f64 / secs)
}

/// The table holds exactly `ticks` rows, read back through the catalog.
async fn check_table(options: &Value, ticks: u64) -> Result<(), String> {
    let o: IcebergOptions = serde_json::from_value(options.clone()).map_err(|e| e.to_string())?;
    let c = inspect::open(&o, None).await.map_err(|e| e.to_string())?;
    let t = inspect::load(c.as_ref(), "history", "derivatives_tick_market_data")
        .await
        .map_err(|e| e.to_string())?
        .ok_or("bench history: the table was not created")?;
    let rows: usize = inspect::rows(&t)
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .map(|b| b.num_rows())
        .sum();
    if rows as u64 != ticks {
        return Err(format!(
            "bench history: the table holds {rows} rows, expected {ticks}"
        ));
    }
    Ok(())
}
