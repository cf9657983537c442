//! Per-component counters and latency histograms, rendered for Prometheus
//! and summarised for people.
//!
//! Plain atomics: the hot path only does relaxed adds.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Bucket bounds grow by 15% from 50 µs, up to about 10 minutes.
const BUCKETS: usize = 120;
const FIRST_US: f64 = 50.0;
const GROWTH: f64 = 1.15;

fn bound_us(i: usize) -> f64 {
    FIRST_US * GROWTH.powi(i as i32)
}

/// A latency histogram with fine log-scale buckets.
pub struct Histogram {
    counts: Vec<AtomicU64>,
    sum_us: AtomicU64,
    count: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: (0..=BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            sum_us: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Records `n` observations of `d`.
    pub fn record_n(&self, d: Duration, n: u64) {
        let us = d.as_secs_f64() * 1e6;
        let idx = if us <= FIRST_US {
            0
        } else {
            ((us / FIRST_US).ln() / GROWTH.ln()).ceil() as usize
        };
        self.counts[idx.min(BUCKETS)].fetch_add(n, Relaxed);
        self.sum_us
            .fetch_add((us as u64).saturating_mul(n), Relaxed);
        self.count.fetch_add(n, Relaxed);
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// The `q` quantile (0..=1), as the upper bound of its bucket.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let target = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c.load(Relaxed);
            if seen >= target {
                return Some(Duration::from_secs_f64(bound_us(i) / 1e6));
            }
        }
        Some(Duration::from_secs_f64(bound_us(BUCKETS) / 1e6))
    }
}

/// Lifecycle of a component, for `/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// Being built or opened.
    Starting = 0,
    /// Working.
    Running = 1,
    /// Failing and being retried or restarted.
    Degraded = 2,
    /// Stopped after a clean drain.
    Stopped = 3,
    /// Gave up.
    Failed = 4,
}

impl State {
    fn name(v: u8) -> &'static str {
        ["starting", "running", "degraded", "stopped", "failed"]
            .get(v as usize)
            .copied()
            .unwrap_or("unknown")
    }
}

/// Counters of one component.
#[derive(Default)]
pub struct ComponentMetrics {
    /// Rows received.
    pub rows_in: AtomicU64,
    /// Rows emitted (sources, transforms) or committed (sinks).
    pub rows_out: AtomicU64,
    /// Bytes received (Arrow memory size).
    pub bytes_in: AtomicU64,
    /// Bytes emitted or committed.
    pub bytes_out: AtomicU64,
    /// Batches received.
    pub batches_in: AtomicU64,
    /// Batches emitted or committed.
    pub batches_out: AtomicU64,
    /// Rows sent to a reject (`unqualified`) port.
    pub rows_unqualified: AtomicU64,
    /// Rows emitted on a port nobody reads.
    pub rows_unread: AtomicU64,
    /// Errors seen.
    pub errors: AtomicU64,
    /// Retries of a failed call.
    pub retries: AtomicU64,
    /// Instance restarts.
    pub restarts: AtomicU64,
    /// Batches waiting in the component's input queue.
    pub queue_depth: AtomicI64,
    /// Receipt-to-commit latency of rows (sinks).
    pub latency: Histogram,
    /// Writers a sink runs now (`parallelism`).
    pub workers: AtomicI64,
    /// Writes waiting for a free writer (sinks).
    pub backlog: AtomicI64,
    /// Duration of each successful sink write, retries included.
    pub commit_latency: Histogram,
    state: AtomicU8,
}

impl ComponentMetrics {
    /// Sets the lifecycle state.
    pub fn set_state(&self, s: State) {
        self.state.store(s as u8, Relaxed);
    }

    /// The lifecycle state's name.
    pub fn state(&self) -> &'static str {
        State::name(self.state.load(Relaxed))
    }
}

/// A rendered metric: name, help text, and how to read it.
type Counter = (&'static str, &'static str, fn(&ComponentMetrics) -> i64);

/// All metrics of a pipeline.
#[derive(Default)]
pub struct Metrics {
    components: Mutex<BTreeMap<String, (String, Arc<ComponentMetrics>)>>,
    buffers: Mutex<BTreeMap<String, Arc<crate::buffer::Buffer>>>,
    /// Row counts per source for reconciliation.
    pub reconcile: crate::reconcile::Ledger,
    /// Release figures of calendar-scheduled sources.
    pub releases: crate::schedule::ReleaseMetrics,
}

impl Metrics {
    /// The metrics of component `id` of kind `kind`, created on first use.
    pub fn component(&self, id: &str, kind: &str) -> Arc<ComponentMetrics> {
        let mut map = self.components.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(
            &map.entry(id.to_string())
                .or_insert_with(|| (kind.to_string(), Arc::default()))
                .1,
        )
    }

    /// The metrics of component `id`, once the running pipeline has created them.
    pub fn get(&self, id: &str) -> Option<Arc<ComponentMetrics>> {
        let map = self.components.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id).map(|(_, m)| Arc::clone(m))
    }

    /// Reports the disk buffer on the output of component `id`.
    pub fn register_buffer(&self, id: &str, buffer: Arc<crate::buffer::Buffer>) {
        let mut map = self.buffers.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(id.to_string(), buffer);
    }

    /// Figures of every disk buffer, by the id of the component it follows.
    pub fn buffers(&self) -> Vec<(String, crate::buffer::BufferStats)> {
        let map = self.buffers.lock().unwrap_or_else(|p| p.into_inner());
        map.iter().map(|(id, b)| (id.clone(), b.stats())).collect()
    }

    /// A snapshot of every component: id, kind, metrics.
    pub fn all(&self) -> Vec<(String, String, Arc<ComponentMetrics>)> {
        let map = self.components.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .map(|(id, (k, m))| (id.clone(), k.clone(), Arc::clone(m)))
            .collect()
    }

    /// Prometheus text exposition format.
    pub fn render_prometheus(&self, pipeline: &str) -> String {
        let mut out = String::new();
        let all = self.all();
        let counters: [Counter; 12] = [
            ("qdp_rows_in_total", "Rows received", |m| {
                m.rows_in.load(Relaxed) as i64
            }),
            ("qdp_rows_out_total", "Rows emitted or committed", |m| {
                m.rows_out.load(Relaxed) as i64
            }),
            ("qdp_bytes_in_total", "Bytes received", |m| {
                m.bytes_in.load(Relaxed) as i64
            }),
            ("qdp_bytes_out_total", "Bytes emitted or committed", |m| {
                m.bytes_out.load(Relaxed) as i64
            }),
            ("qdp_batches_in_total", "Batches received", |m| {
                m.batches_in.load(Relaxed) as i64
            }),
            (
                "qdp_batches_out_total",
                "Batches emitted or committed",
                |m| m.batches_out.load(Relaxed) as i64,
            ),
            (
                "qdp_rows_unqualified_total",
                "Rows sent to an unqualified port",
                |m| m.rows_unqualified.load(Relaxed) as i64,
            ),
            (
                "qdp_rows_unread_total",
                "Rows emitted on a port no component reads",
                |m| m.rows_unread.load(Relaxed) as i64,
            ),
            ("qdp_errors_total", "Errors", |m| {
                m.errors.load(Relaxed) as i64
            }),
            ("qdp_retries_total", "Retries", |m| {
                m.retries.load(Relaxed) as i64
            }),
            ("qdp_restarts_total", "Component restarts", |m| {
                m.restarts.load(Relaxed) as i64
            }),
            (
                "qdp_queue_depth",
                "Batches waiting in the input queue",
                |m| m.queue_depth.load(Relaxed),
            ),
        ];
        for (name, help, get) in counters {
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            let _ = writeln!(out, "# HELP {name} {help}.\n# TYPE {name} {kind}");
            for (id, k, m) in &all {
                let _ = writeln!(
                    out,
                    "{name}{{pipeline=\"{pipeline}\",component=\"{id}\",kind=\"{k}\"}} {}",
                    get(m)
                );
            }
        }
        let sinks: Vec<_> = all.iter().filter(|(_, k, _)| k == "sink").collect();
        render_histogram(
            &mut out,
            pipeline,
            "qdp_end_to_end_latency_seconds",
            "Receipt-to-commit latency of batches at sinks",
            &sinks,
            |m| &m.latency,
        );
        render_histogram(
            &mut out,
            pipeline,
            "qdp_sink_commit_seconds",
            "Duration of each successful sink write, retries included",
            &sinks,
            |m| &m.commit_latency,
        );
        let gauges: [Counter; 2] = [
            ("qdp_sink_workers", "Writers a sink runs now", |m| {
                m.workers.load(Relaxed)
            }),
            (
                "qdp_sink_backlog_writes",
                "Writes waiting for a free writer",
                |m| m.backlog.load(Relaxed),
            ),
        ];
        for (name, help, get) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}.\n# TYPE {name} gauge");
            for (id, k, m) in &sinks {
                let _ = writeln!(
                    out,
                    "{name}{{pipeline=\"{pipeline}\",component=\"{id}\",kind=\"{k}\"}} {}",
                    get(m)
                );
            }
        }
        render_buffers(&mut out, pipeline, &self.buffers());
        self.reconcile.render(&mut out, pipeline);
        self.releases.render(&mut out, pipeline);
        out
    }

    /// `/health` as JSON: overall status and each component's state.
    pub fn health(&self) -> serde_json::Value {
        let all = self.all();
        let healthy = all
            .iter()
            .all(|(_, _, m)| !matches!(m.state(), "failed" | "degraded"));
        let comps: serde_json::Map<String, serde_json::Value> = all
            .iter()
            .map(|(id, k, m)| (id.clone(), serde_json::json!({ "kind": k, "state": m.state(), "errors": m.errors.load(Relaxed) })))
            .collect();
        let buffers: serde_json::Map<String, serde_json::Value> = self
            .buffers()
            .into_iter()
            .map(|(id, s)| {
                (
                    id,
                    serde_json::json!({
                        "pending_bytes": s.pending_bytes,
                        "pending_records": s.pending_records,
                        "oldest_unconsumed_s": s.oldest_unconsumed.map(|d| d.as_secs_f64()),
                        "full": s.blocked_for.is_some(),
                    }),
                )
            })
            .collect();
        let full = buffers.values().any(|b| b["full"] == true);
        let status = if !healthy || full { "degraded" } else { "ok" };
        serde_json::json!({ "status": status, "components": comps, "buffers": buffers })
    }
}

/// Gauges of the disk buffers.
/// One Prometheus histogram per component, from its log-scale buckets.
fn render_histogram(
    out: &mut String,
    pipeline: &str,
    name: &str,
    help: &str,
    components: &[&(String, String, Arc<ComponentMetrics>)],
    get: fn(&ComponentMetrics) -> &Histogram,
) {
    let _ = writeln!(out, "# HELP {name} {help}.\n# TYPE {name} histogram");
    for (id, k, m) in components {
        let h = get(m);
        let labels = format!("pipeline=\"{pipeline}\",component=\"{id}\",kind=\"{k}\"");
        let mut cum = 0;
        for (i, c) in h.counts.iter().enumerate() {
            cum += c.load(Relaxed);
            if i % 5 == 4 && i < BUCKETS {
                let _ = writeln!(
                    out,
                    "{name}_bucket{{{labels},le=\"{:.6}\"}} {cum}",
                    bound_us(i) / 1e6
                );
            }
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.count());
        let _ = writeln!(
            out,
            "{name}_sum{{{labels}}} {:.6}",
            h.sum_us.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count());
    }
}

fn render_buffers(
    out: &mut String,
    pipeline: &str,
    buffers: &[(String, crate::buffer::BufferStats)],
) {
    type Gauge = (
        &'static str,
        &'static str,
        fn(&crate::buffer::BufferStats) -> f64,
    );
    let gauges: [Gauge; 8] = [
        (
            "qdp_buffer_disk_bytes",
            "Bytes of buffer segment files on disk",
            |s| s.disk_bytes as f64,
        ),
        ("qdp_buffer_segments", "Buffer segment files on disk", |s| {
            s.segments as f64
        }),
        (
            "qdp_buffer_pending_bytes",
            "Buffered bytes some consumer has not committed",
            |s| s.pending_bytes as f64,
        ),
        (
            "qdp_buffer_pending_records",
            "Buffered batches some consumer has not committed",
            |s| s.pending_records as f64,
        ),
        (
            "qdp_buffer_oldest_unconsumed_seconds",
            "Age of the oldest buffered batch not yet committed by every consumer",
            |s| s.oldest_unconsumed.map_or(0.0, |d| d.as_secs_f64()),
        ),
        (
            "qdp_buffer_full_seconds",
            "How long appends have been held back by a full buffer (0 when not full)",
            |s| s.blocked_for.map_or(0.0, |d| d.as_secs_f64()),
        ),
        ("qdp_buffer_fsyncs_total", "Buffer fsyncs", |s| {
            s.fsyncs as f64
        }),
        (
            "qdp_buffer_last_fsync_seconds",
            "Duration of the last buffer fsync",
            |s| s.last_fsync.as_secs_f64(),
        ),
    ];
    if buffers.is_empty() {
        return;
    }
    for (name, help, get) in gauges {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        let _ = writeln!(out, "# HELP {name} {help}.\n# TYPE {name} {kind}");
        for (id, s) in buffers {
            let _ = writeln!(
                out,
                "{name}{{pipeline=\"{pipeline}\",component=\"{id}\"}} {}",
                get(s)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_fall_in_the_right_bucket() {
        let h = Histogram::default();
        for ms in 1..=100 {
            h.record_n(Duration::from_millis(ms), 1);
        }
        let p50 = h.quantile(0.5).unwrap().as_secs_f64() * 1000.0;
        let p99 = h.quantile(0.99).unwrap().as_secs_f64() * 1000.0;
        assert!((50.0..=58.0).contains(&p50), "p50 {p50}");
        assert!((99.0..=114.0).contains(&p99), "p99 {p99}");
    }

    #[test]
    fn prometheus_text_has_every_component() {
        let m = Metrics::default();
        m.component("sim", "source").rows_out.fetch_add(7, Relaxed);
        m.component("out", "sink")
            .latency
            .record_n(Duration::from_millis(3), 2);
        let text = m.render_prometheus("p");
        assert!(
            text.contains("qdp_rows_out_total{pipeline=\"p\",component=\"sim\",kind=\"source\"} 7")
        );
        assert!(text.contains(
            "qdp_end_to_end_latency_seconds_count{pipeline=\"p\",component=\"out\",kind=\"sink\"} 2"
        ));
    }
}
