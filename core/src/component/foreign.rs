//! Plugin instances as runtime components: every C call runs on a blocking
//! thread so a slow plugin never stalls the async workers.

use super::{BoxFut, DynSink, DynSource, DynTransform};
use qdp_sdk::ffi::host::{ForeignInstance, Polled};
use qdp_sdk::{Accepts, Batch, Checkpoint, Emit, OutputDecl, PluginError, Result};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A plugin instance shared with the blocking thread that calls it.
#[derive(Clone)]
pub struct Foreign(Arc<Mutex<ForeignInstance>>);

impl Foreign {
    /// Wraps an instance.
    pub fn new(inst: ForeignInstance) -> Self {
        Self(Arc::new(Mutex::new(inst)))
    }

    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut ForeignInstance) -> Result<T> + Send + 'static,
    ) -> BoxFut<'static, Result<T>> {
        let inner = Arc::clone(&self.0);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut guard = inner
                    .lock()
                    .map_err(|_| PluginError::internal("plugin instance lock poisoned"))?;
                f(&mut guard)
            })
            .await
            .map_err(|e| PluginError::internal(format!("plugin call thread failed: {e}")))?
        })
    }
}

impl DynSource for Foreign {
    fn outputs(&mut self) -> BoxFut<'_, Result<Vec<OutputDecl>>> {
        self.call(|i| i.outputs(&[]))
    }
    fn start(&mut self, checkpoint: Option<Checkpoint>) -> BoxFut<'_, Result<()>> {
        self.call(move |i| i.start(checkpoint.as_ref()))
    }
    fn poll(&mut self, timeout: Duration) -> BoxFut<'_, Result<Polled>> {
        self.call(move |i| i.poll(timeout))
    }
    fn ack(&mut self, checkpoint: Checkpoint) -> BoxFut<'_, Result<()>> {
        self.call(move |i| i.ack(&checkpoint))
    }
    fn shutdown(&mut self) -> BoxFut<'_, Result<()>> {
        self.call(|i| i.shutdown())
    }
}

impl DynTransform for Foreign {
    fn outputs(&mut self, inputs: Vec<OutputDecl>) -> BoxFut<'_, Result<Vec<OutputDecl>>> {
        self.call(move |i| i.outputs(&inputs))
    }
    fn process(&mut self, batch: Batch) -> BoxFut<'_, Result<Vec<Emit>>> {
        self.call(move |i| i.process(&batch))
    }
}

impl DynSink for Foreign {
    fn accepts(&mut self) -> BoxFut<'_, Result<Accepts>> {
        self.call(|i| i.accepts())
    }
    fn open(&mut self) -> BoxFut<'_, Result<()>> {
        self.call(|i| i.start(None))
    }
    fn write(&mut self, batches: Vec<Batch>) -> BoxFut<'_, Result<()>> {
        self.call(move |i| i.write(&batches))
    }
    fn shutdown(&mut self) -> BoxFut<'_, Result<()>> {
        self.call(|i| i.shutdown())
    }
}
