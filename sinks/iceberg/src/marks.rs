//! Which batches a table already holds, kept in the table itself.
//!
//! Every commit stores, in its snapshot summary under
//! `qdp.marks.<pipeline>.<component>`, the highest batch number committed
//! per (category, origin, producer) by this sink. The marks travel in the
//! same atomic metadata swap as the data files, so after a crash the table
//! says exactly which replayed batches it has: those are skipped, the rest
//! written. A crash before the swap leaves unreferenced files, never rows.

use iceberg::spec::TableMetadata;
use std::collections::BTreeMap;

/// (category, origin, producer).
pub type Stream = (String, String, String);

/// Highest committed batch number per stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks(BTreeMap<Stream, u64>);

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
        self.0.get(stream).is_some_and(|m| seq <= *m)
    }

    /// Records batch `seq` of `stream` as committed.
    pub fn advance(&mut self, stream: Stream, seq: u64) {
        let m = self.0.entry(stream).or_insert(seq);
        *m = (*m).max(seq);
    }

    /// JSON: `[[category, origin, producer, seq], ...]`.
    pub fn encode(&self) -> String {
        let rows: Vec<(&str, &str, &str, u64)> = self
            .0
            .iter()
            .map(|((c, o, p), s)| (c.as_str(), o.as_str(), p.as_str(), *s))
            .collect();
        serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into())
    }

    fn decode(text: &str) -> Result<Self, serde_json::Error> {
        let rows: Vec<(String, String, String, u64)> = serde_json::from_str(text)?;
        Ok(Self(
            rows.into_iter()
                .map(|(c, o, p, s)| ((c, o, p), s))
                .collect(),
        ))
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
    }

    #[test]
    fn a_foreign_value_is_refused() {
        assert!(Marks::decode("{\"not\": \"marks\"}").is_err());
    }
}
