//! Adapters from the SDK's safe traits to the runtime's object-safe ones,
//! for components linked into the process (built-ins and embedders' own).

use super::{BoxFut, DynSink, DynSource, DynTransform, catch_panics, catch_sync};
use qdp_sdk::ffi::host::Polled;
use qdp_sdk::{Accepts, Batch, Checkpoint, Emit, OutputDecl, Result, Sink, Source, Transform};
use std::time::Duration;

/// A native source.
pub struct NativeSource<T>(pub T);
/// A native transform.
pub struct NativeTransform<T>(pub T);
/// A native sink.
pub struct NativeSink<T>(pub T);

impl<T: Source> DynSource for NativeSource<T> {
    fn outputs(&mut self) -> BoxFut<'_, Result<Vec<OutputDecl>>> {
        let r = catch_sync(|| Ok(self.0.outputs()));
        Box::pin(async move { r })
    }
    fn start(&mut self, checkpoint: Option<Checkpoint>) -> BoxFut<'_, Result<()>> {
        Box::pin(catch_panics(self.0.start(checkpoint)))
    }
    fn poll(&mut self, timeout: Duration) -> BoxFut<'_, Result<Polled>> {
        Box::pin(catch_panics(async move {
            match tokio::time::timeout(timeout, self.0.next_batch()).await {
                Err(_) => Ok(Polled::Pending),
                Ok(Ok(Some(b))) => Ok(Polled::Batch(b)),
                Ok(Ok(None)) => Ok(Polled::End),
                Ok(Err(e)) => Err(e),
            }
        }))
    }
    fn ack(&mut self, checkpoint: Checkpoint) -> BoxFut<'_, Result<()>> {
        Box::pin(catch_panics(self.0.ack(checkpoint)))
    }
    fn shutdown(&mut self) -> BoxFut<'_, Result<()>> {
        Box::pin(catch_panics(self.0.shutdown()))
    }
}

impl<T: Transform> DynTransform for NativeTransform<T> {
    fn outputs(&mut self, inputs: Vec<OutputDecl>) -> BoxFut<'_, Result<Vec<OutputDecl>>> {
        let r = catch_sync(|| self.0.outputs(&inputs));
        Box::pin(async move { r })
    }
    fn process(&mut self, batch: Batch) -> BoxFut<'_, Result<Vec<Emit>>> {
        let r = catch_sync(|| self.0.process(&batch));
        Box::pin(async move { r })
    }
}

impl<T: Sink> DynSink for NativeSink<T> {
    fn accepts(&mut self) -> BoxFut<'_, Result<Accepts>> {
        let r = catch_sync(|| Ok(self.0.accepts()));
        Box::pin(async move { r })
    }
    fn open(&mut self) -> BoxFut<'_, Result<()>> {
        Box::pin(catch_panics(self.0.open()))
    }
    fn write(&mut self, batches: Vec<Batch>) -> BoxFut<'_, Result<()>> {
        Box::pin(catch_panics(async move { self.0.write(&batches).await }))
    }
    fn shutdown(&mut self) -> BoxFut<'_, Result<()>> {
        Box::pin(catch_panics(self.0.shutdown()))
    }
}
