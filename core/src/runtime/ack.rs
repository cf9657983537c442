//! End-to-end acknowledgement by finalizers.
//!
//! Every batch a source emits gets one [`AckRef`]. Transforms hand clones to
//! what they emit; sinks settle theirs after a durable commit. When the last
//! reference is gone, the batch's outcome (committed everywhere, or not) goes
//! back to its source's [`Tracker`], which acknowledges checkpoints strictly
//! in order: a checkpoint is acknowledged only when every batch up to it has
//! been committed by every sink downstream. A reference dropped without being
//! settled (a shutdown deadline, an abandoned write) marks its batch failed,
//! so nothing after it is acknowledged and the batch is replayed next run.

use qdp_sdk::Checkpoint;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc::UnboundedSender;

/// The outcome of one source batch.
#[derive(Debug)]
pub struct AckEvent {
    /// Batch number.
    pub seq: u64,
    /// Its checkpoint.
    pub checkpoint: Checkpoint,
    /// Committed by every sink downstream.
    pub ok: bool,
}

struct Inner {
    seq: u64,
    checkpoint: Checkpoint,
    failed: AtomicBool,
    tx: UnboundedSender<AckEvent>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.tx.send(AckEvent {
            seq: self.seq,
            checkpoint: std::mem::take(&mut self.checkpoint),
            ok: !self.failed.load(Ordering::Acquire),
        });
    }
}

/// One holder's share of a batch's acknowledgement.
pub struct AckRef {
    inner: Arc<Inner>,
    settled: bool,
}

impl AckRef {
    /// The first reference of a new source batch.
    pub fn new(seq: u64, checkpoint: Checkpoint, tx: UnboundedSender<AckEvent>) -> Self {
        Self {
            inner: Arc::new(Inner {
                seq,
                checkpoint,
                failed: AtomicBool::new(false),
                tx,
            }),
            settled: false,
        }
    }

    /// This holder is done with the batch: committed it or passed it on.
    pub fn settle(mut self) {
        self.settled = true;
    }
}

impl Clone for AckRef {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            settled: false,
        }
    }
}

impl Drop for AckRef {
    fn drop(&mut self) {
        if !self.settled {
            self.inner.failed.store(true, Ordering::Release);
        }
    }
}

/// Per-source bookkeeping of emitted and settled batches.
#[derive(Default)]
pub struct Tracker {
    pending: BTreeSet<u64>,
    failed: BTreeSet<u64>,
    done: BTreeMap<u64, Checkpoint>,
}

impl Tracker {
    /// A batch was emitted.
    pub fn emitted(&mut self, seq: u64) {
        self.pending.insert(seq);
    }

    /// A batch's outcome arrived.
    pub fn record(&mut self, ev: AckEvent) {
        self.pending.remove(&ev.seq);
        if ev.ok {
            self.done.insert(ev.seq, ev.checkpoint);
        } else {
            self.failed.insert(ev.seq);
        }
    }

    /// Batches emitted and not yet settled.
    pub fn outstanding(&self) -> usize {
        self.pending.len()
    }

    /// Whether some batch failed (nothing past it will be acknowledged).
    pub fn has_failures(&self) -> bool {
        !self.failed.is_empty()
    }

    /// The newest checkpoint all of whose predecessors are committed, if it
    /// advanced since the last call.
    pub fn take_ackable(&mut self) -> Option<(u64, Checkpoint)> {
        let bound = [self.pending.first(), self.failed.first()]
            .into_iter()
            .flatten()
            .min()
            .copied();
        let mut last = None;
        while let Some(entry) = self.done.first_entry() {
            if bound.is_some_and(|b| *entry.key() > b) {
                break;
            }
            last = Some(entry.remove_entry());
        }
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ck(n: u8) -> Checkpoint {
        Checkpoint(vec![n])
    }

    #[test]
    fn acks_only_contiguous_prefix() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut t = Tracker::default();
        let refs: Vec<AckRef> = (0..3)
            .map(|i| {
                t.emitted(i);
                AckRef::new(i, ck(i as u8), tx.clone())
            })
            .collect();
        let mut it = refs.into_iter();
        let (a, b, c) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        c.settle();
        t.record(rx.try_recv().unwrap());
        assert_eq!(t.take_ackable(), None, "batch 2 alone must not be acked");
        a.settle();
        t.record(rx.try_recv().unwrap());
        assert_eq!(t.take_ackable(), Some((0, ck(0))));
        b.settle();
        t.record(rx.try_recv().unwrap());
        assert_eq!(t.take_ackable(), Some((2, ck(2))));
        assert_eq!(t.outstanding(), 0);
    }

    #[test]
    fn every_clone_must_settle_and_a_drop_fails_the_batch() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut t = Tracker::default();
        t.emitted(0);
        t.emitted(1);
        let first = AckRef::new(0, ck(0), tx.clone());
        let copy = first.clone();
        first.settle();
        assert!(rx.try_recv().is_err(), "one holder left, no outcome yet");
        drop(copy);
        t.record(rx.try_recv().unwrap());
        let second = AckRef::new(1, ck(1), tx);
        second.settle();
        t.record(rx.try_recv().unwrap());
        assert!(t.has_failures());
        assert_eq!(
            t.take_ackable(),
            None,
            "nothing after a failed batch is acknowledged"
        );
    }
}
