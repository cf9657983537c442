//! Which batches a table already holds, kept in the table itself.
//!
//! Every commit stores, in its snapshot summary under
//! `qdp.marks.<pipeline>.<component>`, the highest batch number committed
//! per (category, origin, producer) for batches of deterministic sources,
//! and the highest position committed per (category, stream) for batches
//! whose source names its positions (Kafka offsets). The marks travel in
//! the same atomic metadata swap as the data files, so after a crash the
//! table says exactly which replayed rows it has: those are skipped, the
//! rest written. A crash before the swap leaves unreferenced files, never
//! rows. Positions also hold across replicas of one pipeline sharing a
//! consumer group: whoever reads a partition next skips what any of them
//! committed.

use iceberg::spec::TableMetadata;
use std::collections::BTreeMap;

/// (category, origin, producer).
pub type Stream = (String, String, String);

/// Highest committed batch number per stream, and highest committed
/// position per (category, position stream).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    seqs: BTreeMap<Stream, u64>,
    positions: BTreeMap<(String, String), u64>,
}

/// The summary value: a bare array of batch-number marks (what tables
/// written before positions existed hold), or both kinds.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Record {
    Seqs(Vec<(String, String, String, u64)>),
    Both {
        seq: Vec<(String, String, String, u64)>,
        pos: Vec<(String, String, u64)>,
    },
}

/// The summary key of one sink's marks.
pub fn key(pipeline: &str, component: &str) -> String {
    format!("qdp.marks.{pipeline}.{component}")
}

impl Marks {
    /// The marks of the newest snapshot that carries `key`; empty when none
    /// does (a new table, or one this sink never wrote).
    pub fn load(meta: &TableMetadata, key: &str) -> Result<Self, String> {
        let newest = meta
            .snapshots()
            .filter(|s| s.summary().additional_properties.contains_key(key))
            .max_by_key(|s| s.sequence_number());
        match newest.and_then(|s| s.summary().additional_properties.get(key)) {
            Some(text) => Self::decode(text).map_err(|e| {
                format!("snapshot summary `{key}` is not a qdp marks record ({e}): was it written by hand?")
            }),
            None => Ok(Self::default()),
        }
    }

    /// Whether batch `seq` of `stream` is committed.
    pub fn holds(&self, stream: &Stream, seq: u64) -> bool {
        self.seqs.get(stream).is_some_and(|m| seq <= *m)
    }

    /// Records batch `seq` of `stream` as committed.
    pub fn advance(&mut self, stream: Stream, seq: u64) {
        let m = self.seqs.entry(stream).or_insert(seq);
        *m = (*m).max(seq);
    }

    /// Whether the rows of `category` read at `at` of `stream` are committed.
    pub fn holds_position(&self, category: &str, stream: &str, at: u64) -> bool {
        self.positions
            .get(&(category.to_string(), stream.to_string()))
            .is_some_and(|m| at <= *m)
    }

    /// Records the rows of `category` read at `at` of `stream` as committed.
    pub fn advance_position(&mut self, category: &str, stream: &str, at: u64) {
        let m = self
            .positions
            .entry((category.to_string(), stream.to_string()))
            .or_insert(at);
        *m = (*m).max(at);
    }

    /// JSON: `[[category, origin, producer, seq], ...]` while there are no
    /// position marks (the form every reader of older tables knows), else
    /// `{"seq": [...], "pos": [[category, stream, at], ...]}`.
    pub fn encode(&self) -> String {
        let seq = self
            .seqs
            .iter()
            .map(|((c, o, p), s)| (c.clone(), o.clone(), p.clone(), *s))
            .collect();
        let record = if self.positions.is_empty() {
            Record::Seqs(seq)
        } else {
            let pos = self
                .positions
                .iter()
                .map(|((c, s), at)| (c.clone(), s.clone(), *at))
                .collect();
            Record::Both { seq, pos }
        };
        serde_json::to_string(&record).unwrap_or_else(|_| "[]".into())
    }

    fn decode(text: &str) -> Result<Self, serde_json::Error> {
        let (seq, pos) = match serde_json::from_str(text)? {
            Record::Seqs(seq) => (seq, Vec::new()),
            Record::Both { seq, pos } => (seq, pos),
        };
        Ok(Self {
            seqs: seq.into_iter().map(|(c, o, p, s)| ((c, o, p), s)).collect(),
            positions: pos.into_iter().map(|(c, s, at)| ((c, s), at)).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(c: &str, o: &str, p: &str) -> Stream {
        (c.into(), o.into(), p.into())
    }

    #[test]
    fn marks_round_trip_and_only_move_forward() {
        let mut m = Marks::default();
        m.advance(s("ticks", "sim", "map"), 7);
        m.advance(s("ticks", "sim", "map"), 5);
        m.advance(s("ticks_unqualified", "sim", "validate"), 2);
        assert!(m.holds(&s("ticks", "sim", "map"), 7));
        assert!(!m.holds(&s("ticks", "sim", "map"), 8));
        assert!(!m.holds(&s("ticks", "other", "map"), 1));
        let back = Marks::decode(&m.encode()).unwrap_or_default();
        assert_eq!(back, m);
        assert!(m.encode().starts_with('['), "no positions: the older form");
    }

    #[test]
    fn position_marks_round_trip_per_category_and_stream() {
        let mut m = Marks::default();
        m.advance(s("ticks", "sim", "map"), 3);
        m.advance_position("ticks", "t/0", 41);
        m.advance_position("ticks", "t/0", 40);
        m.advance_position("ticks_unqualified", "t/1", 7);
        assert!(m.holds_position("ticks", "t/0", 41));
        assert!(!m.holds_position("ticks", "t/0", 42));
        assert!(!m.holds_position("ticks", "t/1", 7), "another partition");
        assert!(!m.holds_position("other", "t/0", 1), "another category");
        let back = Marks::decode(&m.encode()).unwrap_or_default();
        assert_eq!(back, m);
    }

    #[test]
    fn a_foreign_value_is_refused() {
        assert!(Marks::decode("{\"not\": \"marks\"}").is_err());
    }
}
