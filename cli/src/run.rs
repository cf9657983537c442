//! `qdp run` and `qdp validate`, and the summary printed after a run.

use crate::logging;
use qdp_core::config::{Kind, load_pipeline, parse_duration};
use qdp_core::schedule::{Clock, FastForwardClock};
use qdp_core::{Pipeline, Registry, RunReport};
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// Resolves when SIGINT or SIGTERM arrives, or after `limit`.
async fn stop_signal(limit: Option<Duration>) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    let timer = async {
        match limit {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received"),
        _ = term => tracing::info!("SIGTERM received"),
        _ = timer => tracing::info!("run time limit reached"),
    }
}

/// `qdp validate FILE`.
pub async fn validate(file: &Path) -> Result<(), String> {
    let p = Pipeline::from_file(file, Registry::with_builtins())
        .await
        .map_err(|e| e.to_string())?;
    for w in p.warnings() {
        println!("warning: {w}");
    }
    let n = p.config().components.len();
    println!("{}: ok ({n} components)", file.display());
    Ok(())
}

/// The flags of `qdp run`.
pub struct RunFlags<'a> {
    /// `--for`: stop after this long.
    pub run_for: Option<&'a str>,
    /// `--summary-json`.
    pub summary_json: bool,
    /// `--once`: one pass per scheduled source.
    pub once: bool,
    /// `--fast-forward CLOCK_FILE`: the release-drill clock.
    pub fast_forward: Option<&'a Path>,
}

/// `qdp run FILE`.
pub async fn run(file: &Path, flags: RunFlags<'_>, log_format: Option<&str>) -> Result<(), String> {
    let cfg = load_pipeline(file).map_err(|e| e.to_string())?;
    logging::init(log_format.or(cfg.log_format.as_deref()).unwrap_or("text"));
    let limit = flags
        .run_for
        .map(parse_duration)
        .transpose()
        .map_err(|e| format!("--for: {e}"))?;
    let mut pipeline = Pipeline::from_config(cfg.clone(), Registry::with_builtins())
        .await
        .map_err(|e| e.to_string())?
        .once(flags.once);
    if let Some(l) = &cfg.lineage {
        pipeline = pipeline.with_pass_lineage(qdp_core::lineage::PassLineage {
            config: l.clone(),
            sources: crate::lineage::per_source(&cfg),
        });
    }
    if let Some(path) = flags.fast_forward {
        let clock = FastForwardClock::open(path).map_err(|e| format!("--fast-forward: {e}"))?;
        tracing::info!(now = %clock.now(), file = %path.display(), "fast-forward clock");
        pipeline = pipeline.with_clock(std::sync::Arc::new(clock));
    }
    pipeline.serve_admin().await.map_err(|e| e.to_string())?;
    let metrics = pipeline.metrics();
    let lineage = cfg.lineage.clone().map(|l| {
        let (inputs, outputs) = crate::lineage::datasets(&cfg);
        qdp_core::lineage::RunLineage::new(l, &cfg.name, inputs, outputs)
    });
    if let Some(l) = &lineage {
        l.start().await;
    }
    let report = pipeline.run_until(stop_signal(limit)).await;
    if let Some(l) = &lineage {
        match &report {
            Ok(_) => l.complete().await,
            Err(e) => l.fail(&e.to_string()).await,
        }
    }
    let report = report.map_err(|e| e.to_string())?;
    let summary = summarize(&cfg, &metrics, &report);
    if flags.summary_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
    } else {
        print_summary(&summary);
    }
    Ok(())
}

fn ms(d: Option<Duration>) -> f64 {
    d.map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// The figures a person wants after a run.
pub fn summarize(
    cfg: &qdp_core::config::PipelineConfig,
    metrics: &qdp_core::Metrics,
    report: &RunReport,
) -> serde_json::Value {
    let secs = report.elapsed.as_secs_f64().max(1e-9);
    let mut source_rows = 0;
    let mut unqualified = 0;
    let mut sinks = Vec::new();
    let all = metrics.all();
    for (id, kind, m) in &all {
        match kind.as_str() {
            "source" => source_rows += m.rows_out.load(Relaxed),
            "transform" => unqualified += m.rows_unqualified.load(Relaxed),
            _ => {
                let c = cfg
                    .components
                    .iter()
                    .find(|c| &c.id == id && c.kind == Kind::Sink);
                let path = c
                    .and_then(|c| c.options.get("path"))
                    .and_then(|p| p.as_str())
                    .map(String::from);
                sinks.push(serde_json::json!({
                    "sink": id,
                    "rows": m.rows_out.load(Relaxed),
                    "batches": m.batches_out.load(Relaxed),
                    "p50_ms": ms(m.latency.quantile(0.5)),
                    "p99_ms": ms(m.latency.quantile(0.99)),
                    "path": path,
                }));
            }
        }
    }
    serde_json::json!({
        "pipeline": cfg.name,
        "elapsed_s": secs,
        "source_rows": source_rows,
        "rows_per_s": source_rows as f64 / secs,
        "unqualified_rows": unqualified,
        "unacknowledged_batches": report.unacknowledged_batches,
        "sinks": sinks,
    })
}

fn print_summary(s: &serde_json::Value) {
    println!();
    println!(
        "pipeline {} finished in {:.1} s",
        s["pipeline"].as_str().unwrap_or(""),
        s["elapsed_s"].as_f64().unwrap_or(0.0)
    );
    println!("  source rows:      {}", s["source_rows"]);
    println!(
        "  throughput:       {:.0} rows/s",
        s["rows_per_s"].as_f64().unwrap_or(0.0)
    );
    println!("  unqualified rows: {}", s["unqualified_rows"]);
    if s["unacknowledged_batches"].as_u64().unwrap_or(0) > 0 {
        println!(
            "  unacknowledged:   {} batches (will be replayed by the next run)",
            s["unacknowledged_batches"]
        );
    }
    for k in s["sinks"].as_array().into_iter().flatten() {
        println!(
            "  sink {:<14} rows {:>10}  latency p50 {:.1} ms  p99 {:.1} ms{}",
            k["sink"].as_str().unwrap_or(""),
            k["rows"],
            k["p50_ms"].as_f64().unwrap_or(0.0),
            k["p99_ms"].as_f64().unwrap_or(0.0),
            k["path"]
                .as_str()
                .map(|p| format!("  -> {p}"))
                .unwrap_or_default(),
        );
    }
}
