//! The three traits a plugin author implements: [`Source`], [`Transform`] and [`Sink`].
//!
//! They are safe, plain Rust. The export macros turn an implementation into a
//! C-ABI plugin, and the runtime uses the same traits for components linked
//! statically into an embedding service.

use crate::batch::{Accepts, Batch, Checkpoint, Emit, OutputDecl, SourceBatch};
use crate::error::Result;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::path::PathBuf;

/// What a component learns about where it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// The pipeline's name.
    pub pipeline: String,
    /// The component's id in the pipeline (`sources.<id>`, ...).
    pub component_id: String,
    /// A directory the component may keep private state in.
    pub data_dir: Option<PathBuf>,
}

/// Static facts about a component type, shown by `qdp plugins inspect`.
pub trait Describe {
    /// Typed options, deserialized from the component's config table.
    ///
    /// Use `#[serde(deny_unknown_fields)]` so a misspelt key is an error.
    type Options: DeserializeOwned + JsonSchema;
    /// Name used as `type = "..."` in pipeline files.
    const NAME: &'static str;
    /// The component's own version.
    const VERSION: &'static str;
    /// Capability flags from [`crate::capabilities`].
    const CAPABILITIES: u64 = 0;

    /// The source → category field dictionary (see [`crate::dictionary`]):
    /// declared by sources that map onto category schemas themselves, shown
    /// in the data catalogue. Empty by default.
    fn dictionary() -> Vec<crate::dictionary::FieldSource> {
        Vec::new()
    }
}

/// A feed: produces batches and resumes from checkpoints.
pub trait Source: Describe + Send + Sized + 'static {
    /// Builds the source from validated options. Must not touch the network.
    fn new(options: Self::Options, ctx: &Context) -> Result<Self>;

    /// The categories (and schemas, when known) this source emits.
    fn outputs(&self) -> Vec<OutputDecl>;

    /// Connects and positions the source just after `checkpoint` (or at its
    /// configured start when `None`).
    fn start(&mut self, checkpoint: Option<Checkpoint>) -> impl Future<Output = Result<()>> + Send;

    /// Waits for the next batch. `Ok(None)` means the source is exhausted.
    ///
    /// Must be cancel-safe: the runtime drops this future when it has waited
    /// long enough and calls it again later, so nothing may be lost when that
    /// happens (receiving from a channel is cancel-safe; a half-read socket
    /// frame kept in a local variable is not).
    fn next_batch(&mut self) -> impl Future<Output = Result<Option<SourceBatch>>> + Send;

    /// Every sink downstream has durably committed everything up to and
    /// including the batch that carried `checkpoint`. Sources with an outside
    /// cursor (Kafka offsets) commit it here; the runtime stores it too.
    fn ack(&mut self, checkpoint: Checkpoint) -> impl Future<Output = Result<()>> + Send {
        let _ = checkpoint;
        async { Ok(()) }
    }

    /// Releases connections before the process exits.
    fn shutdown(&mut self) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}

/// A row-level processor: one batch in, any number of batches out on named ports.
pub trait Transform: Describe + Send + Sized + 'static {
    /// Builds the transform from validated options.
    fn new(options: Self::Options, ctx: &Context) -> Result<Self>;

    /// Given what feeds it, what it emits. An error here is a config error
    /// reported by `qdp validate` before anything runs.
    fn outputs(&self, inputs: &[OutputDecl]) -> Result<Vec<OutputDecl>>;

    /// Processes one batch. Rows that cannot be processed go to a side port
    /// (`unqualified`), never nowhere.
    fn process(&mut self, batch: &Batch) -> Result<Vec<Emit>>;
}

/// A destination: durably writes batches, idempotently.
pub trait Sink: Describe + Send + Sized + 'static {
    /// Builds the sink from validated options. Must not touch the network.
    fn new(options: Self::Options, ctx: &Context) -> Result<Self>;

    /// Which categories the sink takes.
    fn accepts(&self) -> Accepts {
        Accepts::Any
    }

    /// Connects, creates tables or directories, reads what is already committed.
    fn open(&mut self) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Writes `batches` durably. `Ok` means committed: the runtime then
    /// acknowledges their sources. It may call again with the same batches
    /// after an error or a restart, so the write must be idempotent
    /// (`(origin, seq)` in [`crate::BatchMeta`] is a stable key for that).
    fn write(&mut self, batches: &[Batch]) -> impl Future<Output = Result<()>> + Send;

    /// Flushes and releases resources before the process exits.
    fn shutdown(&mut self) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}
