//! `qdp bench foundation`: market-sim → map → validate → Parquet file sink,
//! against a baseline that writes the same Arrow batches straight to Parquet
//! with the parquet crate, in the same run. Medians of several runs.

use qdp_core::config::BatchPolicy;
use qdp_core::registry::search_path;
use qdp_core::{PipelineBuilder, Registry};
use qdp_sdk::Context;
use qdp_sdk::arrow::array::RecordBatch;
use qdp_sdk::ffi::host::{Kind, Polled};
use serde_json::json;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// Runs a named benchmark and prints its `bench ...` line last.
pub async fn main(name: &str, ticks: Option<u64>, runs: usize) -> Result<(), String> {
    match name {
        "foundation" => foundation(ticks.unwrap_or(5_000_000), runs.max(1)).await,
        "buffer" => crate::bench_buffer::run(ticks.unwrap_or(2_000_000), runs.max(1)).await,
        "realtime" => crate::bench_realtime::run(ticks.unwrap_or(5_000_000)).await,
        "history" => crate::bench_history::run(ticks.unwrap_or(5_000_000), runs.max(1)).await,
        other => Err(format!(
            "bench {other}: unknown benchmark (available: foundation, buffer, realtime, macro, history)"
        )),
    }
}

fn sim_options(ticks: u64) -> serde_json::Value {
    json!({ "seed": 42, "rate": 0, "max_ticks": ticks, "batch_size": 8192 })
}

pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(String::from)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn pipeline_run(ticks: u64) -> Result<(f64, f64), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = dir.path().join("out");
    let b = PipelineBuilder::new("bench", dir.path().join("state"))
        .source("sim", "market_sim", sim_options(ticks))
        .transform(
            "ticks",
            "map",
            &["sim"],
            json!({
                "category": "derivatives_tick_market_data",
                "passthrough": ["seq"],
                "fields": {
                    "exchange_code": { "from": "exchange" },
                    "symbol_code": { "from": "symbol" },
                    "symbol_type": { "from": "instrument_type" },
                    "tick_time": { "from": "ts_event_ns", "epoch": "ns" }
                }
            }),
        )
        .transform("validate", "validate", &["ticks"], json!({}))
        .sink(
            "parquet",
            "file",
            &["validate"],
            json!({ "path": out, "format": "parquet" }),
            BatchPolicy {
                max_rows: 262_144,
                max_bytes: 256 << 20,
                max_wait: Duration::from_millis(500),
            },
        );
    let p = b
        .build(Registry::with_builtins())
        .await
        .map_err(|e| e.to_string())?;
    let (secs, sink) = run_to_end(p, "parquet").await?;
    let written = sink.rows_out.load(Relaxed);
    if written != ticks {
        return Err(format!(
            "bench: the sink committed {written} rows of {ticks}"
        ));
    }
    let p99 = sink
        .latency
        .quantile(0.99)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    Ok((ticks as f64 / secs, p99))
}

/// Runs `p` until its sources end; returns the seconds that took and the
/// metrics of its sink `id`.
pub async fn run_to_end(
    p: qdp_core::Pipeline,
    id: &str,
) -> Result<(f64, std::sync::Arc<qdp_core::metrics::ComponentMetrics>), String> {
    let metrics = p.metrics();
    let started = Instant::now();
    p.run_until(std::future::pending())
        .await
        .map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    let sink = metrics.get(id).ok_or("no sink metrics")?;
    Ok((secs, sink))
}

/// Polls the market simulator plugin for ticks, untimed.
pub fn generate(options: serde_json::Value) -> Result<Vec<RecordBatch>, String> {
    let mut reg = Registry::default();
    reg.load_plugin_dirs(&search_path(&[]));
    let ty = reg.get("market_sim").ok_or("market_sim plugin not found next to the qdp binary: build the workspace (cargo xtask bench does)")?;
    let path = match &ty.origin {
        qdp_core::registry::Origin::Plugin(p) => p.clone(),
        _ => return Err("market_sim must be a plugin".into()),
    };
    let lib = qdp_sdk::ffi::host::PluginLibrary::open(&path).map_err(|e| e.to_string())?;
    let mut inst = lib
        .instantiate(Kind::Source, &options, &Context::default())
        .map_err(|e| e.to_string())?;
    inst.start(None).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    loop {
        match inst
            .poll(Duration::from_secs(5))
            .map_err(|e| e.to_string())?
        {
            Polled::Batch(b) => out.push(b.data),
            Polled::Pending => {}
            Polled::End => return Ok(out),
        }
    }
}

fn baseline_run(batches: &[RecordBatch]) -> Result<f64, String> {
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let schema = batches.first().ok_or("no batches")?.schema();
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).map_err(|e| e.to_string())?,
        ))
        .build();
    let started = Instant::now();
    let mut written = 0;
    for (part, chunk) in batches.chunks(32).enumerate() {
        let file = std::fs::File::create(dir.path().join(format!("part-{part}.parquet")))
            .map_err(|e| e.to_string())?;
        let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props.clone()))
            .map_err(|e| e.to_string())?;
        for b in chunk {
            w.write(b).map_err(|e| e.to_string())?;
            written += b.num_rows();
        }
        let f = w.into_inner().map_err(|e| e.to_string())?;
        f.sync_all().map_err(|e| e.to_string())?;
    }
    debug_assert_eq!(written, rows);
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

async fn foundation(ticks: u64, runs: usize) -> Result<(), String> {
    let mut rates = Vec::new();
    let mut p99s = Vec::new();
    for i in 0..runs {
        let (rate, p99) = pipeline_run(ticks).await?;
        println!("run {}: pipeline {rate:.0} ticks/s, p99 {p99:.1} ms", i + 1);
        rates.push(rate);
        p99s.push(p99);
    }
    let rss = peak_rss_mb();
    let batches = tokio::task::spawn_blocking(move || generate(sim_options(ticks)))
        .await
        .map_err(|e| e.to_string())??;
    let mut base = Vec::new();
    for i in 0..runs {
        let rate = baseline_run(&batches)?;
        println!("run {}: baseline {rate:.0} ticks/s", i + 1);
        base.push(rate);
    }
    let (rate, p99, base) = (median(&mut rates), median(&mut p99s), median(&mut base));
    println!(
        "bench foundation ticks_per_s={rate:.0} p99_ms={p99:.1} baseline_ticks_per_s={base:.0} ratio={:.2} peak_rss_mb={rss:.0}",
        rate / base
    );
    Ok(())
}
