//! `qdp bench buffer`: appends to the disk buffer under group commit
//! (10 ms) against a raw sequential write of the same bytes with an fsync
//! every 10 ms, in the same run, plus the latency the buffer adds (append
//! to durable). Medians of several runs.
//!
//! Throughput is measured flat out; latency at a steady one million ticks
//! per second (a burst the firm sees), because flat out every fsync has to
//! flush tens of megabytes and the figure would measure the disk's queue,
//! not the buffer.

use crate::bench::{generate, median};
use qdp_core::buffer::{Buffer, BufferOptions, FsyncPolicy};
use qdp_sdk::arrow::array::RecordBatch;
use serde_json::json;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

const GROUP: Duration = Duration::from_millis(10);

/// The batch rate of the latency phase: a million ticks per second.
const PACE: Duration = Duration::from_millis(1);

fn open(dir: &std::path::Path) -> Result<Arc<Buffer>, String> {
    let opts = BufferOptions {
        max_bytes: u64::MAX / 2,
        segment_bytes: 64 << 20,
        fsync: FsyncPolicy::GroupCommit(GROUP),
    };
    Buffer::open(dir, opts, &["bench".to_string()]).map_err(|e| e.to_string())
}

const META: &[u8] = br#"{"port":null,"meta":{"category":"raw_market_sim_ticks","source_system":"market_sim","origin":"sim","seq":0,"producer":"sim"}}"#;

/// Appends every batch, paced or flat out; returns seconds until the last
/// is durable, append-to-durable latencies in ms, and bytes on disk.
async fn buffer_run(
    batches: &[RecordBatch],
    pace: Option<Duration>,
) -> Result<(f64, Vec<f64>, u64), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let buf = open(dir.path())?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let waiter = {
        let buf = Arc::clone(&buf);
        tokio::spawn(async move {
            let mut lat = Vec::new();
            while let Some((idx, t0)) = rx.recv().await {
                buf.wait_durable(idx).await.map_err(|e| e.to_string())?;
                lat.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, String>(lat)
        })
    };
    let started = Instant::now();
    for (i, b) in batches.iter().enumerate() {
        if let Some(p) = pace {
            tokio::time::sleep_until((started + p * i as u32).into()).await;
        }
        let t0 = Instant::now();
        let idx = buf.append(META, b).await.map_err(|e| e.to_string())?;
        tx.send((idx, t0)).map_err(|e| e.to_string())?;
    }
    drop(tx);
    let lat = waiter.await.map_err(|e| e.to_string())??;
    Ok((started.elapsed().as_secs_f64(), lat, buf.stats().disk_bytes))
}

fn median_p99(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 * 0.99) as usize).min(v.len() - 1)]
}

/// The same number of bytes, in the same chunk sizes, written sequentially
/// to one file with an fsync whenever 10 ms have passed, and one at the end.
fn baseline_run(chunks: &[Vec<u8>]) -> Result<f64, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut f = std::fs::File::create(dir.path().join("raw")).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut last = Instant::now();
    let mut bytes = 0;
    for c in chunks {
        f.write_all(c).map_err(|e| e.to_string())?;
        bytes += c.len();
        if last.elapsed() >= GROUP {
            f.sync_data().map_err(|e| e.to_string())?;
            last = Instant::now();
        }
    }
    f.sync_data().map_err(|e| e.to_string())?;
    Ok(bytes as f64 / 1e6 / started.elapsed().as_secs_f64())
}

/// Runs the buffer benchmark and prints its line last.
pub async fn run(ticks: u64, runs: usize) -> Result<(), String> {
    let opts = json!({ "seed": 42, "rate": 0, "max_ticks": ticks, "batch_size": 1000 });
    let batches = Arc::new(
        tokio::task::spawn_blocking(move || generate(opts))
            .await
            .map_err(|e| e.to_string())??,
    );
    let (mut mbs, mut p99s, mut total) = (Vec::new(), Vec::new(), 0);
    let paced = &batches[..batches.len().min(3000)];
    for i in 0..runs {
        let (secs, _, bytes) = buffer_run(&batches, None).await?;
        let mb = bytes as f64 / 1e6 / secs;
        let (_, mut lat, _) = buffer_run(paced, Some(PACE)).await?;
        let p99 = median_p99(&mut lat);
        println!(
            "run {}: buffer {mb:.1} MB/s flat out; at 1M ticks/s p50 added {:.2} ms, p99 {p99:.2} ms",
            i + 1,
            lat[lat.len() / 2]
        );
        mbs.push(mb);
        p99s.push(p99);
        total = bytes;
    }
    // Chunks the size of the buffer's records, holding the same total bytes.
    let per = (total as usize / batches.len().max(1)).max(1);
    let chunks: Vec<Vec<u8>> = (0..batches.len())
        .map(|i| vec![(i % 251) as u8; per])
        .collect();
    let mut base = Vec::new();
    for i in 0..runs {
        let mb = tokio::task::spawn_blocking({
            let chunks = chunks.clone();
            move || baseline_run(&chunks)
        })
        .await
        .map_err(|e| e.to_string())??;
        println!("run {}: baseline {mb:.1} MB/s", i + 1);
        base.push(mb);
    }
    let (mb, p99, base) = (median(&mut mbs), median(&mut p99s), median(&mut base));
    println!(
        "bench buffer mb_per_s={mb:.1} baseline_mb_per_s={base:.1} ratio={:.2} p99_added_ms={p99:.2}",
        mb / base
    );
    Ok(())
}
