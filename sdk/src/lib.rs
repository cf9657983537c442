//! The qdp SDK: what a plugin author depends on.
//!
//! Implement [`Source`], [`Transform`] or [`Sink`] on a type, call one export
//! macro, and build the crate as a `cdylib`:
//!
//! ```text
//! qdp_sdk::export_source!(MySource);
//! ```
//!
//! The macro generates the C side of the ABI (see [`ffi::abi`]); plugin
//! crates themselves never need `unsafe`. The same traits serve components
//! linked statically into a service that embeds the runtime.

pub mod batch;
pub mod calendar;
pub mod component;
pub mod conformance;
pub mod dictionary;
pub mod error;
pub mod ffi;
pub mod options;
pub mod raw;
pub mod schema;

pub use arrow;
pub use batch::{Accepts, Batch, BatchMeta, Checkpoint, Emit, OutputDecl, Position, SourceBatch};
pub use component::{Context, Describe, Sink, Source, Transform};
pub use error::{ErrorDomain, PluginError, Result};
pub use schemars;
pub use serde_json;

/// Version of this SDK, recorded in every plugin's descriptor.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Capability flags a component declares in [`Describe::CAPABILITIES`].
pub mod capabilities {
    /// A source resumes from a checkpoint it was given.
    pub const RESUME: u64 = 1 << 0;
    /// A source emits the same batches again when restarted from the same
    /// checkpoint, so `(origin, seq)` is a stable identity.
    pub const DETERMINISTIC_REPLAY: u64 = 1 << 1;
    /// A sink's writes are idempotent: a replay shows no duplicates.
    pub const IDEMPOTENT_WRITE: u64 = 1 << 2;
    /// A source that ends by itself (files, reports) rather than streams forever.
    pub const FINITE: u64 = 1 << 3;

    /// Names of the flags set in `caps`.
    pub fn names(caps: u64) -> Vec<&'static str> {
        [
            (RESUME, "resume"),
            (DETERMINISTIC_REPLAY, "deterministic_replay"),
            (IDEMPOTENT_WRITE, "idempotent_write"),
            (FINITE, "finite"),
        ]
        .into_iter()
        .filter(|(bit, _)| caps & bit != 0)
        .map(|(_, name)| name)
        .collect()
    }
}

/// Exports a [`Source`] implementation as this library's plugin.
#[macro_export]
macro_rules! export_source {
    ($ty:ty) => {
        /// Entry point of this qdp plugin (ABI major 1).
        #[unsafe(no_mangle)]
        pub extern "C" fn qdp_plugin_entry_v1() -> *const $crate::ffi::abi::FfiDescriptor {
            $crate::ffi::export::source_descriptor::<$ty>()
        }
    };
}

/// Exports a [`Transform`] implementation as this library's plugin.
#[macro_export]
macro_rules! export_transform {
    ($ty:ty) => {
        /// Entry point of this qdp plugin (ABI major 1).
        #[unsafe(no_mangle)]
        pub extern "C" fn qdp_plugin_entry_v1() -> *const $crate::ffi::abi::FfiDescriptor {
            $crate::ffi::export::transform_descriptor::<$ty>()
        }
    };
}

/// Exports a [`Sink`] implementation as this library's plugin.
#[macro_export]
macro_rules! export_sink {
    ($ty:ty) => {
        /// Entry point of this qdp plugin (ABI major 1).
        #[unsafe(no_mangle)]
        pub extern "C" fn qdp_plugin_entry_v1() -> *const $crate::ffi::abi::FfiDescriptor {
            $crate::ffi::export::sink_descriptor::<$ty>()
        }
    };
}
