//! A disk buffer on a component's output edge.
//!
//! The producer sends into the buffer's writer task instead of its
//! consumers. The writer appends each batch and, once the buffer has made
//! it durable, settles the batch: that is what lets the source acknowledge
//! its checkpoint, long before any sink has seen the rows. One reader task
//! per consumer then replays the buffer into that consumer's channel at the
//! consumer's pace, and commits the consumer's cursor once everything below
//! it has been committed downstream (acknowledgement by the same finalizers
//! as sources use). On a graceful stop, readers stop reading: whatever is
//! unread stays in the buffer for the next run.

use super::TaskEnv;
use super::ack::{AckRef, Tracker};
use super::envelope::Envelope;
use crate::buffer::{Buffer, BufferError};
use crate::config::Kind;
use qdp_sdk::{Batch, BatchMeta, Checkpoint, PluginError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc::{self, Receiver, Sender};

/// How often a reader persists its cursor while data flows.
const COMMIT_EVERY: Duration = Duration::from_millis(100);

/// What the runtime stores next to each batch in the buffer.
#[derive(Serialize, Deserialize)]
struct StoredMeta {
    port: Option<String>,
    meta: BatchMeta,
}

/// Turns a buffer failure into a component error.
pub fn buffer_error(id: &str, e: BufferError) -> PluginError {
    let err = match &e {
        BufferError::Io { .. } => PluginError::external(e.to_string()),
        _ => PluginError::internal(e.to_string()),
    };
    err.with_context("buffer", id)
}

/// Appends everything the producer emits and settles each batch once durable.
pub async fn run_writer(id: String, buf: Arc<Buffer>, mut input: Receiver<Envelope>) -> Result<()> {
    let (durable_tx, mut durable_rx) = mpsc::unbounded_channel::<(u64, Envelope)>();
    let settler = {
        let buf = Arc::clone(&buf);
        let id = id.clone();
        tokio::spawn(async move {
            while let Some((idx, env)) = durable_rx.recv().await {
                buf.wait_durable(idx)
                    .await
                    .map_err(|e| buffer_error(&id, e))?;
                env.settle();
            }
            Ok::<(), PluginError>(())
        })
    };
    let appended: Result<()> = async {
        while let Some(env) = input.recv().await {
            let meta = serde_json::to_vec(&StoredMeta {
                port: env.port.clone(),
                meta: env.batch.meta.clone(),
            })
            .map_err(|e| PluginError::internal(e.to_string()))?;
            let idx = buf
                .append(&meta, &env.batch.data)
                .await
                .map_err(|e| buffer_error(&id, e))?;
            if durable_tx.send((idx, env)).is_err() {
                break;
            }
        }
        Ok(())
    }
    .await;
    drop(durable_tx);
    let settled = settler
        .await
        .map_err(|e| PluginError::internal(format!("buffer settler: {e}")))?;
    appended?;
    settled?;
    buf.close().map_err(|e| buffer_error(&id, e))
}

/// Feeds consumer `env.config.id` from the buffer, committing its cursor.
pub async fn run_reader(
    env: TaskEnv,
    producer: String,
    buf: Arc<Buffer>,
    ports: BTreeSet<Option<String>>,
    out: Sender<Envelope>,
) -> Result<()> {
    let consumer = env.config.id.clone();
    let name = format!("{producer}.buffer->{consumer}");
    let mut reader = buf.reader(&consumer).map_err(|e| buffer_error(&name, e))?;
    let (ack_tx, mut ack_rx) = mpsc::unbounded_channel();
    let mut tracker = Tracker::default();
    let mut committed = reader.position();
    let mut ackable = committed;
    let mut last_commit = Instant::now();
    let mut stop = env.stop.clone();
    let result: Result<()> = loop {
        if env.stopping() {
            break Ok(());
        }
        tokio::select! {
            biased;
            changed = stop.changed() => {
                if changed.is_err() {
                    break Ok(());
                }
            }
            Some(ev) = ack_rx.recv() => {
                tracker.record(ev);
            }
            // A commit that is due must not wait for more traffic: a full
            // buffer only makes room when this consumer commits.
            _ = tokio::time::sleep_until((last_commit + COMMIT_EVERY).into()), if ackable > committed => {}
            rec = reader.next() => {
                let rec = match rec {
                    Ok(Some(r)) => r,
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(buffer_error(&name, e)),
                };
                let stored: StoredMeta = match serde_json::from_slice(&rec.meta) {
                    Ok(m) => m,
                    Err(e) => break Err(PluginError::internal(format!("buffer record {} has unreadable metadata: {e}", rec.index)).with_context("buffer", &name)),
                };
                tracker.emitted(rec.index);
                let ack = AckRef::new(rec.index, Checkpoint::default(), ack_tx.clone());
                if !ports.contains(&stored.port) {
                    ack.settle();
                    continue;
                }
                let now_ns = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64);
                let age = Duration::from_nanos((now_ns - rec.appended_ns).max(0) as u64);
                if env.config.kind == Kind::Transform {
                    env.reconcile.from_buffer(&stored.meta.origin, rec.batch.num_rows() as u64);
                }
                let e = Envelope {
                    batch: Batch { data: rec.batch, meta: stored.meta },
                    acks: vec![ack],
                    received: Instant::now().checked_sub(age).unwrap_or_else(Instant::now),
                    port: stored.port,
                };
                if out.send(e).await.is_err() {
                    break Err(PluginError::internal(format!("`{consumer}` stopped reading")).with_context("buffer", &name));
                }
            }
        }
        if let Some((idx, _)) = tracker.take_ackable() {
            ackable = idx + 1;
        }
        if ackable > committed && last_commit.elapsed() >= COMMIT_EVERY {
            if let Err(e) = reader.commit(ackable) {
                break Err(buffer_error(&name, e));
            }
            committed = ackable;
            last_commit = Instant::now();
        }
    };
    // Let the consumer finish what it has, then persist how far it got.
    drop(out);
    drop(ack_tx);
    while tracker.outstanding() > 0 {
        let deadline = env.shutdown_deadline();
        tokio::select! {
            ev = ack_rx.recv() => match ev {
                Some(ev) => tracker.record(ev),
                None => break,
            },
            _ = async { match deadline { Some(d) => tokio::time::sleep_until(d.into()).await, None => std::future::pending().await } } => break,
        }
    }
    if let Some((idx, _)) = tracker.take_ackable() {
        ackable = idx + 1;
    }
    if ackable > committed {
        reader.commit(ackable).map_err(|e| buffer_error(&name, e))?;
    }
    result
}
