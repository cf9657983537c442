//! The accounting of `qdp reconcile`, from message headers alone.
//!
//! Every message the Kafka sink writes names its batch: pipeline, origin
//! (the source component), producer (the component that emitted it),
//! category, seq (the source batch number, which transforms keep), part and
//! rows. A replayed write repeats those headers, so rows are summed over
//! distinct parts; a batch published to two topics (by two sinks) counts
//! once. Batches are then grouped per source batch (pipeline, origin, seq):
//!
//! * raw rows: rows the source itself published (producer = origin),
//!   including the unqualified rows it emitted directly;
//! * unqualified rows: rows of a `*_unqualified` category, from any producer;
//! * category rows: rows of a category schema published by a transform, or
//!   by the source itself when no transform published anything for that
//!   batch (a source that emits category rows straight to the sink).
//!
//! missing = raw − category − unqualified; each source batch lands in the
//! interval of its earliest message.

use qdp_sdk::schema::registry;
use std::collections::{BTreeMap, HashMap};

/// The `qdp.*` headers of one message.
#[derive(Debug, Clone)]
pub struct Msg {
    pub topic: String,
    pub pipeline: String,
    pub origin: String,
    pub producer: String,
    pub category: String,
    pub source_system: String,
    pub seq: u64,
    pub part: u32,
    pub rows: u64,
    /// Message timestamp, ms since the epoch.
    pub ts_ms: i64,
}

/// (pipeline, origin, producer, category, seq).
type BatchKey = (String, String, String, String, u64);

/// What was read of one batch in one topic.
#[derive(Default)]
struct Parts {
    seen: Vec<u64>,
    rows: u64,
}

impl Parts {
    /// Records part `p`; false when it was already there (a replay).
    fn insert(&mut self, p: u32, rows: u64) -> bool {
        let (word, bit) = (p as usize / 64, p % 64);
        if self.seen.len() <= word {
            self.seen.resize(word + 1, 0);
        }
        if self.seen[word] & (1 << bit) != 0 {
            return false;
        }
        self.seen[word] |= 1 << bit;
        self.rows += rows;
        true
    }
}

#[derive(Default)]
struct BatchSeen {
    topics: HashMap<String, Parts>,
    source_system: String,
    first_ms: i64,
}

/// Headers read so far.
#[derive(Default)]
pub struct Counter {
    batches: HashMap<BatchKey, BatchSeen>,
    /// Messages counted.
    pub messages: u64,
    /// Messages that repeat a part already counted (replayed writes).
    pub duplicates: u64,
    /// Messages without the `qdp.*` headers (not written by qdp).
    pub foreign: u64,
    /// Messages of other pipelines than the one asked for.
    pub other_pipelines: u64,
}

impl Counter {
    /// Counts one message.
    pub fn add(&mut self, m: Msg) {
        self.messages += 1;
        let key = (m.pipeline, m.origin, m.producer, m.category, m.seq);
        let b = self.batches.entry(key).or_insert_with(|| BatchSeen {
            first_ms: m.ts_ms,
            ..Default::default()
        });
        b.first_ms = b.first_ms.min(m.ts_ms);
        if b.source_system.is_empty() {
            b.source_system = m.source_system;
        }
        if !b.topics.entry(m.topic).or_default().insert(m.part, m.rows) {
            self.duplicates += 1;
        }
    }

    /// The balance per interval and source. Source batches whose first
    /// message is before `from_ms` are left out (their start was not read);
    /// intervals that ended less than `settle_ms` before `now_ms` are pending.
    pub fn report(&self, interval_ms: i64, settle_ms: i64, now_ms: i64, from_ms: i64) -> Vec<Row> {
        let mut groups: HashMap<(&str, &str, u64), Group> = HashMap::new();
        for ((pipeline, origin, producer, category, seq), b) in &self.batches {
            let rows = b.topics.values().map(|p| p.rows).max().unwrap_or(0);
            let g = groups
                .entry((pipeline, origin, *seq))
                .or_insert_with(|| Group {
                    first_ms: i64::MAX,
                    ..Default::default()
                });
            g.first_ms = g.first_ms.min(b.first_ms);
            let own = producer == origin;
            if own || g.source_system.is_empty() {
                g.source_system.clone_from(&b.source_system);
            }
            let reject = category.ends_with("_unqualified");
            let schema = !reject && registry().get(category).is_some();
            if reject {
                g.unqualified += rows;
            }
            if own {
                g.raw += rows;
                if schema {
                    g.own_category += rows;
                }
            } else {
                g.transformed = true;
                if schema {
                    g.category += rows;
                }
            }
        }
        let mut rows: BTreeMap<(i64, String, String, String), Row> = BTreeMap::new();
        for ((pipeline, origin, seq), g) in groups {
            if g.first_ms < from_ms {
                continue;
            }
            let start = g.first_ms.div_euclid(interval_ms) * interval_ms;
            let category = if g.transformed {
                g.category
            } else {
                g.own_category
            };
            let missing = g.raw as i64 - category as i64 - g.unqualified as i64;
            let key = (
                start,
                g.source_system.clone(),
                pipeline.to_string(),
                origin.to_string(),
            );
            let r = rows.entry(key).or_insert_with(|| Row {
                start_ms: start,
                end_ms: start + interval_ms,
                source_system: g.source_system.clone(),
                pipeline: pipeline.to_string(),
                origin: origin.to_string(),
                ..Default::default()
            });
            r.raw += g.raw;
            r.category += category;
            r.unqualified += g.unqualified;
            r.missing += missing;
            r.batches += 1;
            if missing != 0 {
                r.off.push((seq, missing));
            }
        }
        rows.into_values()
            .map(|mut r| {
                r.off.sort_unstable();
                r.status = if r.end_ms + settle_ms > now_ms {
                    Status::Pending
                } else if r.missing == 0 && r.off.is_empty() {
                    Status::Ok
                } else {
                    Status::Imbalance
                };
                r
            })
            .collect()
    }
}

#[derive(Default)]
struct Group {
    first_ms: i64,
    source_system: String,
    raw: u64,
    category: u64,
    own_category: u64,
    unqualified: u64,
    transformed: bool,
}

/// Whether an interval balances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Status {
    /// Every row is accounted for.
    #[default]
    Ok,
    /// Rows are missing (or surplus): the alarm.
    Imbalance,
    /// The interval ended less than the settle time ago.
    Pending,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Imbalance => "IMBALANCE",
            Status::Pending => "pending",
        }
    }
}

/// The balance of one source in one interval.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub start_ms: i64,
    pub end_ms: i64,
    pub source_system: String,
    pub pipeline: String,
    pub origin: String,
    pub raw: u64,
    pub category: u64,
    pub unqualified: u64,
    pub missing: i64,
    /// Source batches counted.
    pub batches: u64,
    /// Source batches that do not balance: (seq, missing rows).
    pub off: Vec<(u64, i64)>,
    pub status: Status,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(producer: &str, category: &str, seq: u64, part: u32, rows: u64, ts_ms: i64) -> Msg {
        Msg {
            topic: category.to_string(),
            pipeline: "p".into(),
            origin: "ibkr".into(),
            producer: producer.into(),
            category: category.into(),
            source_system: "ibkr_cpapi".into(),
            seq,
            part,
            rows,
            ts_ms,
        }
    }

    const TICKS: &str = "derivatives_tick_market_data";
    const REJECTS: &str = "derivatives_tick_market_data_unqualified";

    #[test]
    fn raw_rows_balance_category_and_unqualified_rows_once_each() {
        let mut c = Counter::default();
        for part in 0..10 {
            c.add(msg("ibkr", "raw_ibkr_cpapi_ticks", 7, part, 1, 1_000));
        }
        c.add(msg("valid_ticks", TICKS, 7, 0, 5, 1_100));
        c.add(msg("valid_ticks", TICKS, 7, 1, 3, 1_100));
        c.add(msg("ticks", REJECTS, 7, 0, 1, 1_100));
        c.add(msg("valid_ticks", REJECTS, 7, 0, 1, 1_100));
        // A replayed write of the category rows.
        c.add(msg("valid_ticks", TICKS, 7, 0, 5, 2_000));
        // Frames the source could not read: raw and unqualified at once.
        c.add(msg("ibkr", "websocket_frames_unqualified", 8, 0, 2, 1_500));
        let rows = c.report(60_000, 0, 120_000, 0);
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!((r.raw, r.category, r.unqualified, r.missing), (12, 8, 4, 0));
        assert_eq!((r.status, r.batches, c.duplicates), (Status::Ok, 2, 1));
    }

    #[test]
    fn lost_category_rows_are_an_imbalance_once_settled() {
        let mut c = Counter::default();
        c.add(msg("ibkr", "raw_ibkr_cpapi_ticks", 3, 0, 10, 61_000));
        c.add(msg("ticks", REJECTS, 3, 0, 2, 61_000));
        let settled = c.report(60_000, 30_000, 150_000, 0);
        assert_eq!(settled[0].status, Status::Imbalance);
        assert_eq!(
            (settled[0].missing, settled[0].off.clone()),
            (8, vec![(3, 8)])
        );
        assert_eq!(settled[0].start_ms, 60_000);
        let early = c.report(60_000, 30_000, 149_999, 0);
        assert_eq!(early[0].status, Status::Pending);
    }

    #[test]
    fn a_source_publishing_category_rows_itself_balances() {
        let mut c = Counter::default();
        c.add(msg("ibkr", TICKS, 0, 0, 4, 0));
        let r = &c.report(1_000, 0, 5_000, 0)[0];
        assert_eq!((r.raw, r.category, r.missing), (4, 4, 0));
        // Same rows in a second topic (another sink): counted once.
        let mut again = msg("ibkr", TICKS, 0, 0, 4, 0);
        again.topic = "copy".into();
        c.add(again);
        let r = &c.report(1_000, 0, 5_000, 0)[0];
        assert_eq!((r.raw, r.category, r.missing), (4, 4, 0));
    }

    #[test]
    fn batches_that_started_before_the_window_are_left_out() {
        let mut c = Counter::default();
        c.add(msg("valid_ticks", TICKS, 1, 0, 8, 59_000));
        assert!(c.report(60_000, 0, 200_000, 60_000).is_empty());
    }
}
