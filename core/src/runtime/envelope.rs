//! What travels between components: a batch, its acknowledgement shares and
//! when it was received.

use super::ack::AckRef;
use qdp_sdk::Batch;
use std::time::Instant;
use tokio::sync::mpsc::Sender;

/// A batch on its way through the pipeline.
pub struct Envelope {
    /// The rows and their metadata.
    pub batch: Batch,
    /// One share per source batch it derives from.
    pub acks: Vec<AckRef>,
    /// When the source handed the rows to the runtime.
    pub received: Instant,
    /// The output port it left its producer on (`None` = main).
    pub port: Option<String>,
}

impl Clone for Envelope {
    fn clone(&self) -> Self {
        Self {
            batch: self.batch.clone(),
            acks: self.acks.clone(),
            received: self.received,
            port: self.port.clone(),
        }
    }
}

impl Envelope {
    /// Settles every share: this holder is done with the batch.
    pub fn settle(self) {
        for a in self.acks {
            a.settle();
        }
    }

    /// Bytes of Arrow memory the rows use.
    pub fn bytes(&self) -> usize {
        self.batch.data.get_array_memory_size()
    }
}

/// Sends `env` to every consumer, waiting for room (backpressure, never a drop).
/// Returns false when a consumer has gone away.
pub async fn send_all(targets: &[Sender<Envelope>], env: Envelope) -> bool {
    let Some((last, rest)) = targets.split_last() else {
        env.settle();
        return true;
    };
    for t in rest {
        if t.send(env.clone()).await.is_err() {
            return false;
        }
    }
    last.send(env).await.is_ok()
}
