//! The source's checkpoint: where each partition stands and which producer
//! writes it has already emitted.
//!
//! * **Positions**: `(topic, partition) → next offset`, with the assignment
//!   epoch the offset was read under. `ack` commits an offset to the group
//!   only while the partition is still assigned under that same epoch, so a
//!   checkpoint taken before a rebalance never moves back an offset that
//!   another member has committed since.
//! * **Dedup marks**: `(topic, partition, category, pipeline, origin,
//!   producer) → highest (seq, part)` from the `qdp.*` headers of the `kafka`
//!   sink. A sink that wrote a batch again after a crash appends the same
//!   `(seq, part)` again, after the first copy in the same partition; the
//!   source drops whatever is at or below the mark.
//!
//! Every emitted batch carries a full snapshot, serialized as JSON.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A topic partition.
pub type Tp = (String, i32);

/// Whose writes a dedup mark covers: topic, partition, category, pipeline,
/// origin, producer.
pub type MarkKey = (String, i32, String, String, String, String);

/// The source's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// Consumer group the positions belong to.
    pub group: String,
    /// Random id of the source instance that took the snapshot (epochs only
    /// mean something within one instance).
    pub instance: u64,
    /// Next offset to read and the epoch it was read under.
    pub positions: BTreeMap<Tp, (i64, u64)>,
    /// Highest `(seq, part)` seen per writer.
    pub marks: BTreeMap<MarkKey, (u64, u64)>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    v: u32,
    group: String,
    instance: u64,
    positions: Vec<(String, i32, i64, u64)>,
    marks: Vec<(MarkKey, u64, u64)>,
}

impl State {
    /// Records that `offset` of `tp` was read under `epoch`.
    pub fn advance(&mut self, tp: Tp, offset: i64, epoch: u64) {
        self.positions.insert(tp, (offset + 1, epoch));
    }

    /// Whether `(seq, part)` of `key` was already seen; records it if not.
    pub fn seen(&mut self, key: MarkKey, seq: u64, part: u64) -> bool {
        match self.marks.get_mut(&key) {
            Some(m) if *m >= (seq, part) => true,
            Some(m) => {
                *m = (seq, part);
                false
            }
            None => {
                self.marks.insert(key, (seq, part));
                false
            }
        }
    }

    /// The checkpoint bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let w = Wire {
            v: 1,
            group: self.group.clone(),
            instance: self.instance,
            positions: self
                .positions
                .iter()
                .map(|((t, p), (o, e))| (t.clone(), *p, *o, *e))
                .collect(),
            marks: self
                .marks
                .iter()
                .map(|(k, (s, p))| (k.clone(), *s, *p))
                .collect(),
        };
        serde_json::to_vec(&w).unwrap_or_default()
    }

    /// Reads checkpoint bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Self, String> {
        let w: Wire =
            serde_json::from_slice(b).map_err(|e| format!("not a kafka source checkpoint: {e}"))?;
        if w.v != 1 {
            return Err(format!("checkpoint version {} is not supported", w.v));
        }
        Ok(Self {
            group: w.group,
            instance: w.instance,
            positions: w
                .positions
                .into_iter()
                .map(|(t, p, o, e)| ((t, p), (o, e)))
                .collect(),
            marks: w.marks.into_iter().map(|(k, s, p)| (k, (s, p))).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MarkKey {
        (
            "t".into(),
            0,
            "c".into(),
            "pl".into(),
            "o".into(),
            "p".into(),
        )
    }

    #[test]
    fn marks_drop_what_was_seen_and_keep_what_is_new() {
        let mut s = State::default();
        assert!(!s.seen(key(), 3, 0));
        assert!(!s.seen(key(), 3, 1));
        assert!(s.seen(key(), 3, 0), "a replayed part");
        assert!(s.seen(key(), 2, 9), "an older batch");
        assert!(!s.seen(key(), 4, 0));
    }

    #[test]
    fn round_trips_and_refuses_garbage() {
        let mut s = State {
            group: "g".into(),
            instance: 7,
            ..State::default()
        };
        s.advance(("t".into(), 2), 41, 3);
        s.seen(key(), 5, 1);
        assert_eq!(State::from_bytes(&s.to_bytes()).unwrap(), s);
        assert_eq!(s.positions[&("t".into(), 2)], (42, 3));
        assert!(State::from_bytes(b"\xffnot a checkpoint").is_err());
    }
}
