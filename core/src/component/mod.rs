//! Components as the runtime drives them: object-safe async traits with two
//! implementations, one for Rust types linked into the process
//! ([`native`]) and one for plugin instances behind the C ABI ([`foreign`]).

mod catch;
pub mod foreign;
pub mod native;

pub use catch::{catch_panics, catch_sync};

use qdp_sdk::ffi::host::Polled;
use qdp_sdk::{Accepts, Batch, Checkpoint, Emit, OutputDecl, Result};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed, sendable future.
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A running source.
pub trait DynSource: Send {
    /// Output declarations.
    fn outputs(&mut self) -> BoxFut<'_, Result<Vec<OutputDecl>>>;
    /// Positions the source after `checkpoint`.
    fn start(&mut self, checkpoint: Option<Checkpoint>) -> BoxFut<'_, Result<()>>;
    /// Waits up to `timeout` for a batch.
    fn poll(&mut self, timeout: Duration) -> BoxFut<'_, Result<Polled>>;
    /// Everything up to `checkpoint` is committed downstream.
    fn ack(&mut self, checkpoint: Checkpoint) -> BoxFut<'_, Result<()>>;
    /// Releases resources.
    fn shutdown(&mut self) -> BoxFut<'_, Result<()>>;
}

/// A running transform.
pub trait DynTransform: Send {
    /// Output declarations given the inputs'.
    fn outputs(&mut self, inputs: Vec<OutputDecl>) -> BoxFut<'_, Result<Vec<OutputDecl>>>;
    /// Processes one batch.
    fn process(&mut self, batch: Batch) -> BoxFut<'_, Result<Vec<Emit>>>;
}

/// A running sink.
pub trait DynSink: Send {
    /// Which categories it takes.
    fn accepts(&mut self) -> BoxFut<'_, Result<Accepts>>;
    /// Connects and prepares.
    fn open(&mut self) -> BoxFut<'_, Result<()>>;
    /// Writes durably.
    fn write(&mut self, batches: Vec<Batch>) -> BoxFut<'_, Result<()>>;
    /// Releases resources.
    fn shutdown(&mut self) -> BoxFut<'_, Result<()>>;
}

/// An instance of any kind.
pub enum Instance {
    /// A source.
    Source(Box<dyn DynSource>),
    /// A transform.
    Transform(Box<dyn DynTransform>),
    /// A sink.
    Sink(Box<dyn DynSink>),
}
