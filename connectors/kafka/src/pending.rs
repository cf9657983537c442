//! Rows read but not yet emitted, and the state that goes into
//! checkpoints: positions, dedup marks, and what has been emitted so far.
//!
//! A cut empties every table at once. The last batch of a cut carries the
//! new checkpoint; the others carry the previous one, so no checkpoint ever
//! covers a row that is not in its batch or an earlier one.

use crate::checkpoint::{MarkKey, State, Tp};
use crate::config::Format;
use crate::decode::{self, Incoming, Kind, UNQUALIFIED};
use crate::table::{Piece, Table, position};
use qdp_sdk::arrow::datatypes::SchemaRef;
use qdp_sdk::{Checkpoint, PluginError, Result, SourceBatch};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// What the source holds between the consumer and the runtime.
pub struct Pending {
    /// topic → category.
    categories: HashMap<String, String>,
    /// category → schema, when the category has one.
    schemas: HashMap<String, Option<SchemaRef>>,
    format: Format,
    source_system: String,
    batch_size: usize,
    max_wait: Duration,
    /// Positions and marks of everything taken.
    pub state: State,
    /// `state` as of the last cut: what has been emitted.
    emitted: State,
    /// `emitted` as checkpoint bytes.
    snapshot: Vec<u8>,
    tables: Vec<Table>,
    rejects: Vec<(Incoming, String)>,
    rows: usize,
    since: Option<Instant>,
    ready: VecDeque<SourceBatch>,
}

/// How batches are cut and what rows without a `qdp.source_system` header are.
pub struct Cutting {
    /// Payload format option.
    pub format: Format,
    /// Default source system.
    pub source_system: String,
    /// Rows that make a batch.
    pub batch_size: usize,
    /// Longest a row waits.
    pub max_wait: Duration,
}

impl Pending {
    /// Nothing pending yet.
    pub fn new(
        categories: HashMap<String, String>,
        schemas: HashMap<String, Option<SchemaRef>>,
        c: Cutting,
    ) -> Self {
        Self {
            categories,
            schemas,
            format: c.format,
            source_system: c.source_system,
            batch_size: c.batch_size,
            max_wait: c.max_wait,
            state: State::default(),
            emitted: State::default(),
            snapshot: State::default().to_bytes(),
            tables: Vec::new(),
            rejects: Vec::new(),
            rows: 0,
            since: None,
            ready: VecDeque::new(),
        }
    }

    /// Starts over from `state` (at `start`).
    pub fn reset(&mut self, state: State) {
        self.snapshot = state.to_bytes();
        self.emitted = state.clone();
        self.state = state;
        self.tables.clear();
        self.rejects.clear();
        self.rows = 0;
        self.since = None;
        self.ready.clear();
    }

    /// The next batch cut and not yet handed out.
    pub fn pop(&mut self) -> Option<SourceBatch> {
        self.ready.pop_front()
    }

    /// When the oldest pending row has waited long enough.
    pub fn deadline(&self) -> Option<Instant> {
        self.since.map(|s| s + self.max_wait)
    }

    /// Whether a batch should be cut now.
    pub fn due(&self) -> bool {
        self.rows >= self.batch_size || self.since.is_some_and(|s| s.elapsed() >= self.max_wait)
    }

    /// Takes a message read under assignment `epoch` of its partition:
    /// drops it when it is a replayed write, else queues its rows (or the
    /// message itself as a reject).
    pub fn take(&mut self, m: Incoming, epoch: u64) {
        let tp: Tp = (m.topic.clone(), m.partition);
        self.state.advance(tp, m.offset, epoch);
        if let Some((key, seq, part)) = writer(&m)
            && self.state.seen(key, seq, part)
        {
            return;
        }
        self.since.get_or_insert_with(Instant::now);
        let category = self.categories.get(&m.topic).cloned().unwrap_or_default();
        let schema = self.schemas.get(&category).cloned().flatten();
        let system = m
            .headers
            .get("qdp.source_system")
            .filter(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| self.source_system.clone());
        let empty = m
            .payload
            .as_deref()
            .is_none_or(|p| p.trim_ascii().is_empty());
        if empty {
            self.reject(m, "empty payload".into());
            return;
        }
        match decode::kind(self.format, &m) {
            Kind::Json => {
                self.table(&category, &system, schema).push_json(m);
                self.rows += 1;
            }
            Kind::Arrow => {
                match decode::arrow(m.payload.as_deref().unwrap_or_default(), schema.as_ref()) {
                    Ok(batches) => {
                        let t = self.table(&category, &system, schema);
                        let mut rows = 0;
                        for b in batches {
                            rows += b.num_rows();
                            t.push_arrow((m.topic.clone(), m.partition), m.offset, b);
                        }
                        self.rows += rows;
                    }
                    Err(reason) => self.reject(m, reason),
                }
            }
        }
    }

    fn reject(&mut self, m: Incoming, reason: String) {
        self.rejects.push((m, reason));
        self.rows += 1;
    }

    fn table(&mut self, category: &str, system: &str, schema: Option<SchemaRef>) -> &mut Table {
        let i = match self
            .tables
            .iter()
            .position(|t| t.category == category && t.source_system == system)
        {
            Some(i) => i,
            None => {
                self.tables.push(Table::new(category, system, schema));
                self.tables.len() - 1
            }
        };
        &mut self.tables[i]
    }

    /// Empties every table into ready batches.
    pub fn cut(&mut self) -> Result<()> {
        let mut out: Vec<(String, String, Piece)> = Vec::new();
        for t in &mut self.tables {
            let (batches, bad) = t.take()?;
            for b in batches {
                out.push((t.category.clone(), t.source_system.clone(), b));
            }
            self.rejects.extend(bad);
        }
        self.tables.clear();
        if !self.rejects.is_empty() {
            let b = decode::rejects(&self.rejects).map_err(PluginError::internal)?;
            let at = self
                .rejects
                .iter()
                .map(|(m, _)| position((&m.topic, m.partition), m.offset, 1))
                .collect();
            out.push((UNQUALIFIED.to_string(), self.source_system.clone(), (b, at)));
            self.rejects.clear();
        }
        self.rows = 0;
        self.since = None;
        let new = self.state.to_bytes();
        let n = out.len();
        for (i, (category, source_system, (data, positions))) in out.into_iter().enumerate() {
            let ck = if i + 1 == n {
                new.clone()
            } else {
                self.snapshot.clone()
            };
            self.ready.push_back(SourceBatch {
                category,
                source_system,
                data,
                checkpoint: Checkpoint(ck),
                positions,
            });
        }
        self.snapshot = new;
        self.emitted = self.state.clone();
        Ok(())
    }

    /// Partitions a rebalance took away: their rows not yet emitted are
    /// dropped and their position and dedup marks go back to what was
    /// emitted, so whoever reads them next (another member, or this one
    /// again from the committed offset) emits them once.
    pub fn forget(&mut self, revoked: &[Tp]) {
        if revoked.is_empty() {
            return;
        }
        for tp in revoked {
            for t in &mut self.tables {
                t.drop_partition(tp);
            }
            self.rejects
                .retain(|(m, _)| m.topic != tp.0 || m.partition != tp.1);
            match self.emitted.positions.get(tp) {
                Some(p) => self.state.positions.insert(tp.clone(), *p),
                None => self.state.positions.remove(tp),
            };
            let of_tp = |k: &MarkKey| k.0 == tp.0 && k.1 == tp.1;
            self.state.marks.retain(|k, _| !of_tp(k));
            for (k, v) in self.emitted.marks.iter().filter(|(k, _)| of_tp(k)) {
                self.state.marks.insert(k.clone(), *v);
            }
        }
        self.tables.retain(|t| t.rows() > 0);
        self.rows = self.tables.iter().map(Table::rows).sum::<usize>() + self.rejects.len();
        if self.rows == 0 {
            self.since = None;
        }
    }
}

/// Who wrote the message and which part of which batch it is, when it
/// carries the `kafka` sink's headers.
fn writer(m: &Incoming) -> Option<(MarkKey, u64, u64)> {
    let h = |k: &str| m.headers.get(k).cloned().unwrap_or_default();
    let seq = m.headers.get("qdp.seq")?.parse().ok()?;
    let part = m.headers.get("qdp.part")?.parse().ok()?;
    let key = (
        m.topic.clone(),
        m.partition,
        h("qdp.category"),
        h("qdp.pipeline"),
        h("qdp.origin"),
        h("qdp.producer"),
    );
    Some((key, seq, part))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick_json(symbol: &str) -> Vec<u8> {
        format!(
            r#"{{"source_system_name":"sim","component_instance_name":"c","ingestion_time":"2026-03-02T14:30:00Z","exchange_code":"NYMEX","symbol_code":"{symbol}","symbol_type":"future","price":70.5,"price_unit":"1_USD","size":2.0,"size_unit":"1_contract","tick_time":"2026-03-02T14:30:00.5Z","open_interest":null,"open_interest_unit":null}}"#
        )
        .into_bytes()
    }

    fn msg(partition: i32, offset: i64, seq: u64) -> Incoming {
        let headers = [
            ("qdp.seq", seq.to_string()),
            ("qdp.part", "0".to_string()),
            ("qdp.origin", "o".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Incoming {
            topic: TICKS.into(),
            partition,
            offset,
            key: None,
            payload: Some(tick_json("CLF6")),
            headers,
        }
    }

    const TICKS: &str = "derivatives_tick_market_data";

    fn pending() -> Pending {
        let mut p = Pending::new(
            HashMap::from([(TICKS.to_string(), TICKS.to_string())]),
            HashMap::from([(
                TICKS.to_string(),
                Some(
                    qdp_sdk::schema::registry()
                        .get(TICKS)
                        .unwrap()
                        .arrow_schema(),
                ),
            )]),
            Cutting {
                format: Format::Auto,
                source_system: "kafka".into(),
                batch_size: 100,
                max_wait: Duration::from_secs(60),
            },
        );
        p.reset(State {
            instance: 9,
            ..State::default()
        });
        p
    }

    #[test]
    fn a_revoked_partition_forgets_what_was_not_emitted() {
        let mut s = pending();
        s.take(msg(0, 10, 1), 1);
        s.take(msg(1, 20, 1), 2);
        s.cut().unwrap();
        assert_eq!(s.ready.len(), 1);
        s.take(msg(0, 11, 2), 1);
        s.take(msg(1, 21, 2), 2);
        assert_eq!(s.rows, 2);
        let tp0 = (TICKS.to_string(), 0);
        s.forget(std::slice::from_ref(&tp0));
        // Partition 0 is back at what was emitted; partition 1 keeps its row.
        assert_eq!(s.rows, 1);
        assert_eq!(s.state.positions[&tp0], (11, 1));
        let mark = |st: &State, p: i32| st.marks.iter().find(|(k, _)| k.1 == p).map(|(_, v)| *v);
        assert_eq!(mark(&s.state, 0), Some((1, 0)));
        assert_eq!(mark(&s.state, 1), Some((2, 0)));
        // Read again (by this member, from the committed offset), the
        // dropped message is taken, not mistaken for a replay.
        s.take(msg(0, 11, 2), 1);
        assert_eq!(s.rows, 2);
        s.cut().unwrap();
        let rows: usize = s.ready.iter().map(|b| b.data.num_rows()).sum();
        assert_eq!(rows, 4);
    }

    #[test]
    fn only_the_last_batch_of_a_cut_moves_the_checkpoint() {
        let mut s = pending();
        s.take(msg(0, 10, 1), 1);
        let mut bad = msg(0, 11, 2);
        bad.payload = Some(b"{oops".to_vec());
        s.take(bad, 1);
        s.cut().unwrap();
        let b: Vec<SourceBatch> = s.ready.drain(..).collect();
        assert_eq!(b.len(), 2);
        assert_eq!(b[1].category, UNQUALIFIED);
        let first = State::from_bytes(b[0].checkpoint.as_bytes()).unwrap();
        let last = State::from_bytes(b[1].checkpoint.as_bytes()).unwrap();
        assert!(
            first.positions.is_empty(),
            "the first batch does not cover the reject"
        );
        assert_eq!(last.positions[&(TICKS.to_string(), 0)], (12, 1));
    }

    #[test]
    fn every_row_carries_the_offset_it_was_read_at() {
        let mut s = pending();
        s.take(msg(1, 20, 1), 1);
        s.take(msg(0, 10, 1), 1);
        let mut bad = msg(0, 11, 2);
        bad.payload = Some(b"{oops".to_vec());
        s.take(bad, 1);
        s.take(msg(0, 12, 3), 1);
        s.cut().unwrap();
        let b: Vec<SourceBatch> = s.ready.drain(..).collect();
        let of = |b: &SourceBatch| -> Vec<(String, u64, u64)> {
            b.positions
                .iter()
                .map(|p| (p.stream.clone(), p.at, p.rows))
                .collect()
        };
        let t = |p: i32| format!("{TICKS}/{p}");
        assert_eq!(b[0].data.num_rows(), 3);
        assert_eq!(of(&b[0]), vec![(t(1), 20, 1), (t(0), 10, 1), (t(0), 12, 1)]);
        assert_eq!(b[1].category, UNQUALIFIED);
        assert_eq!(of(&b[1]), vec![(t(0), 11, 1)]);
    }
}
