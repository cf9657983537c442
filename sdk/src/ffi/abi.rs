//! The C ABI between the host and a plugin: version 1.1.
//!
//! A plugin is a `cdylib` exporting one symbol, [`ENTRY_SYMBOL`], a function
//! that returns a pointer to a static [`FfiDescriptor`]. Everything else goes
//! through the descriptor's function pointers.
//!
//! Rules of the boundary:
//! * No Rust type crosses it. Data crosses as the Arrow C Data Interface
//!   (`FFI_ArrowArray` + `FFI_ArrowSchema`); options, declarations, metadata
//!   and errors cross as UTF-8 JSON bytes; checkpoints as raw bytes.
//! * Bytes the host passes in ([`FfiBytes`]) are borrowed for the call.
//!   Bytes a plugin hands out ([`FfiOwnedBytes`]) belong to the plugin's
//!   allocator and go back through [`FfiDescriptor::free_bytes`].
//! * An Arrow array the host passes in is moved out by the plugin (it leaves an
//!   empty struct behind); whatever is left, the host releases.
//! * Every entry point catches panics; a panic is reported as [`STATUS_ERROR`]
//!   with an `internal` error, and the instance refuses further calls.
//! * The descriptor may only grow at the end between minor versions; the host
//!   reads `struct_size` before touching a field. A major change is a new symbol.

use arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use std::ffi::{c_char, c_void};

/// Major ABI version: a host refuses a plugin with another major.
pub const ABI_MAJOR: u32 = 1;
/// Minor ABI version: fields appended to the descriptor since major 1.
/// 1.1 appended [`FfiDescriptor::dictionary`].
pub const ABI_MINOR: u32 = 1;
/// The first minor whose descriptor carries [`FfiDescriptor::dictionary`].
pub const DICTIONARY_SINCE_MINOR: u32 = 1;
/// Size of an ABI 1.0 descriptor: everything before `dictionary`. A host
/// refuses a descriptor smaller than this.
pub const DESCRIPTOR_1_0_SIZE: usize = std::mem::offset_of!(FfiDescriptor, dictionary);
/// The exported entry symbol, NUL-terminated.
pub const ENTRY_SYMBOL: &[u8] = b"qdp_plugin_entry_v1\0";

/// The call succeeded.
pub const STATUS_OK: i32 = 0;
/// A source had nothing within the timeout; call again.
pub const STATUS_PENDING: i32 = 1;
/// A source is exhausted, or a transform has no more queued outputs.
pub const STATUS_END: i32 = 2;
/// The call failed; the error slot holds a JSON `PluginError`.
pub const STATUS_ERROR: i32 = -1;

/// Kind of component a plugin exports.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FfiKind {
    /// Produces batches.
    Source = 1,
    /// Maps batches to batches.
    Transform = 2,
    /// Writes batches to a destination.
    Sink = 3,
}

/// Bytes borrowed for the duration of one call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FfiBytes {
    /// Start of the bytes (may be null when `len` is 0).
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

/// Bytes allocated by the plugin and owned by the caller until it returns
/// them through [`FfiDescriptor::free_bytes`].
#[repr(C)]
#[derive(Debug)]
pub struct FfiOwnedBytes {
    /// Start of the allocation (null when empty).
    pub ptr: *mut u8,
    /// Number of bytes.
    pub len: usize,
    /// Capacity of the allocation.
    pub cap: usize,
}

impl FfiOwnedBytes {
    /// An empty slot to pass as an out parameter.
    pub const fn empty() -> Self {
        Self {
            ptr: std::ptr::null_mut(),
            len: 0,
            cap: 0,
        }
    }
}

/// Opaque per-instance state owned by the plugin.
pub type FfiHandle = *mut c_void;

/// The versioned table a plugin exports. All function pointers are set; a
/// call that does not apply to the plugin's kind returns [`STATUS_ERROR`].
#[repr(C)]
pub struct FfiDescriptor {
    /// Must equal [`ABI_MAJOR`].
    pub abi_major: u32,
    /// Minor version the plugin was built with.
    pub abi_minor: u32,
    /// `size_of::<FfiDescriptor>()` in the plugin.
    pub struct_size: usize,
    /// Version of the qdp SDK the plugin was built with.
    pub sdk_version: *const c_char,
    /// Component type name (`type = "..."` in pipeline files).
    pub name: *const c_char,
    /// The plugin's own version.
    pub version: *const c_char,
    /// A [`FfiKind`] value.
    pub kind: u32,
    /// Capability flags from [`crate::capabilities`].
    pub capabilities: u64,
    /// JSON Schema of the options, as UTF-8 JSON.
    pub options_schema: *const c_char,
    /// Frees bytes this plugin handed out.
    pub free_bytes: unsafe extern "C" fn(bytes: FfiOwnedBytes),
    /// Builds an instance from options JSON and context JSON.
    pub create: unsafe extern "C" fn(
        options: FfiBytes,
        context: FfiBytes,
        out_handle: *mut FfiHandle,
        err: *mut FfiOwnedBytes,
    ) -> i32,
    /// Destroys an instance. Never fails.
    pub destroy: unsafe extern "C" fn(handle: FfiHandle),
    /// Source/transform: output declarations as JSON (transforms get their
    /// input declarations as JSON). Sink: what it accepts, as JSON.
    pub describe: unsafe extern "C" fn(
        handle: FfiHandle,
        inputs: FfiBytes,
        out: *mut FfiOwnedBytes,
        err: *mut FfiOwnedBytes,
    ) -> i32,
    /// Source: start after the checkpoint (`has_checkpoint` 0 = from the
    /// configured start). Sink: open. Transform: no-op.
    pub start: unsafe extern "C" fn(
        handle: FfiHandle,
        checkpoint: FfiBytes,
        has_checkpoint: u8,
        err: *mut FfiOwnedBytes,
    ) -> i32,
    /// Source: waits up to `timeout_ms` for a batch. On [`STATUS_OK`] the
    /// array, schema, metadata JSON and checkpoint are filled in.
    pub poll: unsafe extern "C" fn(
        handle: FfiHandle,
        timeout_ms: u64,
        out_array: *mut FFI_ArrowArray,
        out_schema: *mut FFI_ArrowSchema,
        out_meta: *mut FfiOwnedBytes,
        out_checkpoint: *mut FfiOwnedBytes,
        err: *mut FfiOwnedBytes,
    ) -> i32,
    /// Source: everything up to this checkpoint is committed downstream.
    pub ack: unsafe extern "C" fn(
        handle: FfiHandle,
        checkpoint: FfiBytes,
        err: *mut FfiOwnedBytes,
    ) -> i32,
    /// Transform: processes one batch (moved out of `array`); outputs are
    /// queued and fetched with `next_output`.
    pub process: unsafe extern "C" fn(
        handle: FfiHandle,
        array: *mut FFI_ArrowArray,
        schema: *const FFI_ArrowSchema,
        meta: FfiBytes,
        err: *mut FfiOwnedBytes,
    ) -> i32,
    /// Transform: the next queued output, or [`STATUS_END`].
    pub next_output: unsafe extern "C" fn(
        handle: FfiHandle,
        out_array: *mut FFI_ArrowArray,
        out_schema: *mut FFI_ArrowSchema,
        out_meta: *mut FfiOwnedBytes,
        err: *mut FfiOwnedBytes,
    ) -> i32,
    /// Sink: writes `count` batches (each moved out of its array) durably.
    /// `metas` is a JSON array of `BatchMeta`, one per batch.
    pub write: unsafe extern "C" fn(
        handle: FfiHandle,
        arrays: *mut FFI_ArrowArray,
        schemas: *const FFI_ArrowSchema,
        count: usize,
        metas: FfiBytes,
        err: *mut FfiOwnedBytes,
    ) -> i32,
    /// Releases connections before the process exits.
    pub shutdown: unsafe extern "C" fn(handle: FfiHandle, err: *mut FfiOwnedBytes) -> i32,
    /// Panics inside the plugin's guard, so a host (or the conformance kit)
    /// can prove panics are contained: must return [`STATUS_ERROR`].
    pub probe_panic: unsafe extern "C" fn(err: *mut FfiOwnedBytes) -> i32,
    // ---- ABI 1.1 ----
    /// The source → category field dictionary, a NUL-terminated UTF-8 JSON
    /// array of [`crate::dictionary::FieldSource`]; null means none. Read
    /// only when `abi_minor >= 1` and `struct_size` covers it.
    pub dictionary: *const c_char,
}

/// The type of the exported entry function.
pub type EntryFn = unsafe extern "C" fn() -> *const FfiDescriptor;
