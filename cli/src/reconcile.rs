//! `qdp reconcile`: proof from the Kafka topics that nothing was lost
//! between a feed and the store.
//!
//! ```text
//! qdp reconcile --brokers HOST:PORT --topics 'raw_*,derivatives_*' [--since 1h] [--interval 1m] [--settle 30s] [--json]
//! qdp reconcile --pipeline examples/pipelines/realtime-connector.toml
//! ```
//!
//! Per source and interval, raw rows received must equal category rows plus
//! unqualified rows (see [`crate::reconcile_count`]). Exit code 0 when every
//! settled interval balances, 1 on any imbalance (the alarm), 2 on usage or
//! connection errors.

use crate::reconcile_count::{Counter, Row, Status};
use crate::reconcile_read::{Read, now_ms, read};
use qdp_core::Registry;
use qdp_core::config::{Kind, load_pipeline, parse_duration};
use qdp_core::plan::plan;
use qdp_core::registry::search_path;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Options of `qdp reconcile`.
#[derive(clap::Args)]
pub struct ReconcileArgs {
    /// Bootstrap brokers, `host:port[,host:port...]` (default with
    /// --pipeline: those of its Kafka sinks).
    #[arg(long)]
    brokers: Option<String>,
    /// Topics to read, comma-separated; `*` matches any text, e.g. `raw_*`
    /// (default with --pipeline: the topics its Kafka sinks write).
    #[arg(long, value_delimiter = ',')]
    topics: Vec<String>,
    /// A pipeline file: read what its Kafka sinks write, and only the
    /// messages of that pipeline. Needs the environment `qdp run` needs.
    #[arg(long)]
    pipeline: Option<PathBuf>,
    /// Only source batches that started in the last DURATION, e.g. 1h
    /// (default: everything the topics hold).
    #[arg(long)]
    since: Option<String>,
    /// Length of the intervals the balance is reported in.
    #[arg(long, default_value = "1m")]
    interval: String,
    /// How long after an interval ends its rows may still be arriving; until
    /// then it is `pending`, not an imbalance.
    #[arg(long, default_value = "30s")]
    settle: String,
    /// How long to wait for the brokers before giving up.
    #[arg(long, default_value = "30s")]
    timeout: String,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

/// Runs `qdp reconcile` and returns its exit code.
pub fn main(args: &ReconcileArgs) -> ExitCode {
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(msg) => {
            eprintln!("{}", msg.trim_end());
            ExitCode::from(2)
        }
    }
}

fn duration(text: &str, flag: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| format!("error: --{flag}: {e}"))
}

/// Reads, counts and prints; `Ok(false)` when a settled interval does not balance.
fn run(args: &ReconcileArgs) -> Result<bool, String> {
    let interval = duration(&args.interval, "interval")?;
    if interval < Duration::from_secs(1) {
        return Err("error: --interval must be at least 1s".into());
    }
    let settle = duration(&args.settle, "settle")?;
    let timeout = duration(&args.timeout, "timeout")?;
    let (pipeline, mut targets) = match &args.pipeline {
        Some(file) => {
            let (name, targets) = pipeline_targets(file)?;
            (Some(name), targets)
        }
        None => (None, Vec::new()),
    };
    if let Some(b) = &args.brokers {
        let mut all: Vec<String> = targets.into_iter().flat_map(|(_, t)| t).collect();
        if !args.topics.is_empty() {
            all = args.topics.clone();
        }
        targets = vec![(b.clone(), all)];
    } else if !args.topics.is_empty() {
        if targets.is_empty() {
            return Err("error: --topics needs --brokers (or --pipeline FILE)".into());
        }
        for (_, t) in &mut targets {
            t.clone_from(&args.topics);
        }
    }
    targets.retain(|(_, t)| !t.is_empty());
    if targets.is_empty() {
        return Err(
            "error: nothing to read: give --brokers and --topics, or --pipeline FILE".into(),
        );
    }
    let (iv, now) = (interval.as_millis() as i64, now_ms());
    // Batches are reported from the start of an interval; reading starts a
    // settle time earlier so a batch whose category rows came late is whole.
    let from = match &args.since {
        Some(s) => {
            let since = duration(s, "since")?.as_millis() as i64;
            Some((now - since).div_euclid(iv) * iv)
        }
        None => None,
    };
    let mut counter = Counter::default();
    let mut reads = Vec::new();
    for (brokers, topics) in &targets {
        let start = from.map(|f| f - settle.as_millis() as i64);
        let r = read(
            brokers,
            topics,
            start,
            timeout,
            pipeline.as_deref(),
            &mut counter,
        )?;
        reads.push((brokers.clone(), r));
    }
    let rows = counter.report(iv, settle.as_millis() as i64, now, from.unwrap_or(i64::MIN));
    if args.json {
        print_json(&reads, &counter, &rows, &args.interval);
    } else {
        print_text(&reads, &counter, &rows, &args.interval, &args.settle);
    }
    Ok(rows.iter().all(|r| r.status != Status::Imbalance))
}

/// Brokers and the topic patterns to read from them.
type Targets = Vec<(String, Vec<String>)>;

/// The brokers and topics the Kafka sinks of `file` write, and its name.
fn pipeline_targets(file: &Path) -> Result<(String, Targets), String> {
    let cfg = load_pipeline(file).map_err(|e| format!("error: {e}"))?;
    let name = cfg.name.clone();
    let mut registry = Registry::with_builtins();
    registry.load_plugin_dirs(&search_path(&cfg.plugin_path));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("error: cannot start the async runtime: {e}"))?;
    let plan = rt
        .block_on(plan(cfg, &registry))
        .map_err(|e| format!("error: {e}"))?;
    let mut targets: Targets = Vec::new();
    for sink in plan
        .nodes
        .iter()
        .filter(|n| n.config.kind == Kind::Sink && n.config.type_name == "kafka")
    {
        let o = &sink.config.options;
        let brokers = o["brokers"].as_str().unwrap_or_default().to_string();
        let template = o["topic"].as_str().unwrap_or("{category}");
        let mut topics = Vec::new();
        for (input, _) in &sink.config.inputs {
            let Some(producer) = plan.nodes.iter().find(|p| p.config.id == input.component) else {
                continue;
            };
            for d in producer.outputs.iter().filter(|d| d.port == input.port) {
                let topic = match o["categories"][&d.category]["topic"].as_str() {
                    Some(t) => t.to_string(),
                    None => template
                        .replace("{category}", &d.category)
                        .replace("{source_system}", "*"),
                };
                if !topics.contains(&topic) {
                    topics.push(topic);
                }
            }
        }
        match targets.iter_mut().find(|(b, _)| *b == brokers) {
            Some((_, t)) => {
                for x in topics {
                    if !t.contains(&x) {
                        t.push(x);
                    }
                }
            }
            None => targets.push((brokers, topics)),
        }
    }
    if targets.is_empty() {
        return Err(format!(
            "error: {} has no kafka sink: give --brokers and --topics",
            file.display()
        ));
    }
    Ok((name, targets))
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

fn print_text(reads: &[(String, Read)], c: &Counter, rows: &[Row], interval: &str, settle: &str) {
    for (brokers, r) in reads {
        println!(
            "read {} topics from {brokers}: {}",
            r.topics.len(),
            r.topics.join(", ")
        );
        for t in &r.missing {
            println!("note: topic {t} does not exist (nothing written to it yet)");
        }
    }
    println!(
        "{} messages counted, {} replayed duplicates dropped, {} without qdp headers, {} of other pipelines; intervals of {interval}, settled {settle} after they end",
        c.messages - c.duplicates,
        c.duplicates,
        c.foreign,
        c.other_pipelines
    );
    let mut last = None;
    for r in rows {
        if last != Some(r.start_ms) {
            println!("\ninterval {} to {}", time(r.start_ms), time(r.end_ms));
            println!(
                "  {:<16} {:<32} {:>8} {:>10} {:>10} {:>12} {:>8}  status",
                "source", "origin", "batches", "raw", "category", "unqualified", "missing"
            );
            last = Some(r.start_ms);
        }
        println!(
            "  {:<16} {:<32} {:>8} {:>10} {:>10} {:>12} {:>8}  {}",
            r.source_system,
            format!("{}/{}", r.pipeline, r.origin),
            r.batches,
            r.raw,
            r.category,
            r.unqualified,
            r.missing,
            r.status.name()
        );
        if r.status == Status::Imbalance {
            let shown: Vec<String> = r
                .off
                .iter()
                .take(10)
                .map(|(seq, m)| format!("seq {seq}: {m}"))
                .collect();
            let more = r.off.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            println!("    batches off (missing rows): {}{more}", shown.join(", "));
        }
    }
    let bad: Vec<&Row> = rows
        .iter()
        .filter(|r| r.status == Status::Imbalance)
        .collect();
    let pending = rows.iter().filter(|r| r.status == Status::Pending).count();
    println!();
    if bad.is_empty() {
        println!(
            "ok: every settled interval balances ({} settled, {pending} pending)",
            rows.len() - pending
        );
    }
    for r in bad {
        println!(
            "IMBALANCE: {} rows missing from {} ({}/{}) in the interval {} to {}",
            r.missing,
            r.source_system,
            r.pipeline,
            r.origin,
            time(r.start_ms),
            time(r.end_ms)
        );
    }
}

fn print_json(reads: &[(String, Read)], c: &Counter, rows: &[Row], interval: &str) {
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "start": time(r.start_ms),
                "end": time(r.end_ms),
                "source": r.source_system,
                "pipeline": r.pipeline,
                "origin": r.origin,
                "batches": r.batches,
                "raw": r.raw,
                "category": r.category,
                "unqualified": r.unqualified,
                "missing": r.missing,
                "status": r.status.name().to_lowercase(),
                "batches_off": r.off.iter().map(|(seq, m)| serde_json::json!({ "seq": seq, "missing": m })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let out = serde_json::json!({
        "reads": reads.iter().map(|(b, r)| serde_json::json!({ "brokers": b, "topics": r.topics, "missing_topics": r.missing })).collect::<Vec<_>>(),
        "messages": c.messages - c.duplicates,
        "duplicates": c.duplicates,
        "foreign": c.foreign,
        "other_pipelines": c.other_pipelines,
        "interval": interval,
        "balanced": rows.iter().all(|r| r["status"] != "imbalance"),
        "rows": rows,
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
}
