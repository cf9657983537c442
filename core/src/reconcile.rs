//! Reconciliation: proof, per source, that every row it received left the
//! pipeline as a category row or an unqualified row.
//!
//! The firm must be able to show that nothing was lost between a feed and the
//! store. The runtime therefore keeps, per origin (source component), counts
//! of rows at the edges of its transform chains:
//!
//! | stage | counted when |
//! |---|---|
//! | `received` | the source emits rows: once per transform that reads the port, or once if none does (a port read by two chains is accounted for by both; likewise a transform output read by k > 1 transforms adds k − 1) |
//! | `category` | rows leave a chain: emitted by a transform on a port that feeds no other transform (the main output of a terminal transform), or by a source on a port that feeds no transform (wired straight to sinks) |
//! | `unqualified` | rows are rejected: emitted on an `unqualified` port or with a `*_unqualified` category, by a transform or by the source itself (then they count as `received` too) |
//! | `buffer_in` / `buffer_out` | rows enter a disk buffer that feeds transforms, and come out of it towards one of them |
//!
//! `received + buffer_out − buffer_in − category − unqualified` is the
//! `qdp_reconcile_imbalance_rows` gauge: rows in flight between components
//! while the pipeline runs, and 0 once a run has ended cleanly. The runtime
//! logs an error naming the source if it is not. A disk buffer is a store of
//! its own: rows a clean stop leaves in it are parked, not in flight, and
//! the next run reads them back out as `buffer_out` (so a replay balances in
//! the run that does it).
//!
//! The balance assumes row-preserving transforms (`map`, `validate`,
//! `convert`, `enrich`: every input row comes out once, as a category row or
//! a reject). A transform that filters or aggregates rows, or a reject port
//! that feeds another transform, shows up as an imbalance by design.

use crate::config::Kind;
use crate::metrics::Metrics;
use crate::plan::Plan;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// Row counts of one origin.
#[derive(Default, Debug)]
pub struct Counts {
    /// Rows the source emitted into the pipeline.
    pub received: AtomicU64,
    /// Rows that left a chain as category (or pass-through) rows.
    pub category: AtomicU64,
    /// Rows rejected on the way.
    pub unqualified: AtomicU64,
    /// Rows written to a disk buffer that feeds transforms.
    pub buffer_in: AtomicU64,
    /// Rows read back from such a buffer towards a transform.
    pub buffer_out: AtomicU64,
}

impl Counts {
    /// Rows received and not yet accounted for (in flight; 0 after a clean run).
    pub fn imbalance(&self) -> i64 {
        let plus = self.received.load(Relaxed) as i128 + self.buffer_out.load(Relaxed) as i128;
        let minus = self.buffer_in.load(Relaxed) as i128
            + self.category.load(Relaxed) as i128
            + self.unqualified.load(Relaxed) as i128;
        (plus - minus) as i64
    }
}

/// Every origin's counts, for `/metrics`.
#[derive(Default)]
pub struct Ledger {
    origins: Mutex<BTreeMap<String, Arc<Counts>>>,
}

impl Ledger {
    /// The counts of `origin`, created on first use.
    pub fn origin(&self, origin: &str) -> Arc<Counts> {
        let mut map = self.origins.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(origin.to_string()).or_default())
    }

    /// A snapshot: origin and counts.
    pub fn all(&self) -> Vec<(String, Arc<Counts>)> {
        let map = self.origins.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .map(|(o, c)| (o.clone(), Arc::clone(c)))
            .collect()
    }

    /// `qdp_reconcile_rows_total` and `qdp_reconcile_imbalance_rows`.
    pub fn render(&self, out: &mut String, pipeline: &str) {
        let all = self.all();
        if all.is_empty() {
            return;
        }
        let name = "qdp_reconcile_rows_total";
        let _ = writeln!(
            out,
            "# HELP {name} Rows per source at each reconciliation stage.\n# TYPE {name} counter"
        );
        for (source, c) in &all {
            for (stage, v) in [
                ("received", &c.received),
                ("category", &c.category),
                ("unqualified", &c.unqualified),
                ("buffer_in", &c.buffer_in),
                ("buffer_out", &c.buffer_out),
            ] {
                let _ = writeln!(
                    out,
                    "{name}{{pipeline=\"{pipeline}\",source=\"{source}\",stage=\"{stage}\"}} {}",
                    v.load(Relaxed)
                );
            }
        }
        let name = "qdp_reconcile_imbalance_rows";
        let _ = writeln!(
            out,
            "# HELP {name} Rows received and not yet accounted for as category or unqualified rows (in flight; 0 after a clean stop).\n# TYPE {name} gauge"
        );
        for (source, c) in &all {
            let _ = writeln!(
                out,
                "{name}{{pipeline=\"{pipeline}\",source=\"{source}\"}} {}",
                c.imbalance()
            );
        }
    }
}

/// What an output port means for the accounting.
#[derive(Debug, Clone, Copy)]
struct Port {
    /// Transforms reading it.
    transforms: u64,
    /// Its producer has a disk buffer.
    buffered: bool,
}

/// The accounting of one run: the role of every output port, from the plan.
pub struct Accounting {
    metrics: Arc<Metrics>,
    ports: HashMap<String, HashMap<Option<String>, Port>>,
    origins: HashMap<String, Arc<Counts>>,
}

/// Whether rows of `category` on `port` are rejects.
fn is_reject(port: Option<&str>, category: &str) -> bool {
    port == Some("unqualified") || category.ends_with("_unqualified")
}

impl Accounting {
    /// Reads the ports' roles off `plan` and registers every source.
    pub fn new(plan: &Plan, metrics: Arc<Metrics>) -> Self {
        let mut ports: HashMap<String, HashMap<Option<String>, Port>> = HashMap::new();
        for n in &plan.nodes {
            let buffered = n.config.buffer.is_some();
            let mine = ports.entry(n.config.id.clone()).or_default();
            for o in &n.outputs {
                mine.entry(o.port.clone()).or_insert(Port {
                    transforms: 0,
                    buffered,
                });
            }
        }
        for n in plan
            .nodes
            .iter()
            .filter(|n| n.config.kind == Kind::Transform)
        {
            for (input, _) in &n.config.inputs {
                let buffered = plan
                    .nodes
                    .iter()
                    .any(|p| p.config.id == input.component && p.config.buffer.is_some());
                ports
                    .entry(input.component.clone())
                    .or_default()
                    .entry(input.port.clone())
                    .or_insert(Port {
                        transforms: 0,
                        buffered,
                    })
                    .transforms += 1;
            }
        }
        let origins = plan
            .nodes
            .iter()
            .filter(|n| n.config.kind == Kind::Source)
            .map(|n| (n.config.id.clone(), metrics.reconcile.origin(&n.config.id)))
            .collect();
        Self {
            metrics,
            ports,
            origins,
        }
    }

    fn counts(&self, origin: &str) -> Arc<Counts> {
        match self.origins.get(origin) {
            Some(c) => Arc::clone(c),
            // A batch a disk buffer kept from a run with other sources.
            None => self.metrics.reconcile.origin(origin),
        }
    }

    fn port(&self, producer: &str, port: &Option<String>) -> Port {
        self.ports
            .get(producer)
            .and_then(|p| p.get(port))
            .copied()
            .unwrap_or(Port {
                transforms: 0,
                buffered: false,
            })
    }

    /// Source `origin` emitted `rows` rows of `category` on `port`.
    pub fn source_emitted(&self, origin: &str, port: &Option<String>, category: &str, rows: u64) {
        let c = self.counts(origin);
        if is_reject(port.as_deref(), category) {
            c.received.fetch_add(rows, Relaxed);
            c.unqualified.fetch_add(rows, Relaxed);
            return;
        }
        let p = self.port(origin, port);
        if p.transforms == 0 {
            c.received.fetch_add(rows, Relaxed);
            c.category.fetch_add(rows, Relaxed);
            return;
        }
        c.received.fetch_add(rows * p.transforms, Relaxed);
        if p.buffered {
            c.buffer_in.fetch_add(rows * p.transforms, Relaxed);
        }
    }

    /// Transform `producer` emitted `rows` rows of `origin`, `category`, on `port`.
    pub fn transform_emitted(
        &self,
        producer: &str,
        origin: &str,
        port: &Option<String>,
        category: &str,
        rows: u64,
    ) {
        let c = self.counts(origin);
        if is_reject(port.as_deref(), category) {
            c.unqualified.fetch_add(rows, Relaxed);
            return;
        }
        let p = self.port(producer, port);
        match p.transforms {
            0 => {
                c.category.fetch_add(rows, Relaxed);
            }
            // Each further chain must account for the rows again.
            k => {
                c.received.fetch_add(rows * (k - 1), Relaxed);
                if p.buffered {
                    c.buffer_in.fetch_add(rows * k, Relaxed);
                }
            }
        }
    }

    /// A disk buffer handed `rows` rows of `origin` to a transform.
    pub fn from_buffer(&self, origin: &str, rows: u64) {
        self.counts(origin).buffer_out.fetch_add(rows, Relaxed);
    }

    /// Logs an error for every source whose rows are not all accounted for;
    /// returns them with their imbalance. Called once a run has ended cleanly.
    pub fn check(&self) -> Vec<(String, i64)> {
        let mut off = Vec::new();
        for (source, c) in self.metrics.reconcile.all() {
            let imbalance = c.imbalance();
            if imbalance != 0 {
                tracing::error!(
                    source = %source,
                    imbalance,
                    received = c.received.load(Relaxed),
                    category = c.category.load(Relaxed),
                    unqualified = c.unqualified.load(Relaxed),
                    "reconciliation failed: rows of this source are neither category nor unqualified rows"
                );
                off.push((source, imbalance));
            }
        }
        off
    }
}
