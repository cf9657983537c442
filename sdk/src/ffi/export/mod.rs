//! Plugin side of the ABI: generic `extern "C"` functions that drive a safe
//! Rust component, and the descriptors the export macros return.
//!
//! Each instance owns a small tokio runtime; the host calls in from its own
//! threads and the instance blocks on its runtime for the length of the call.

use super::abi::*;
use super::arrow_io::{export_batch, import_batch};
use crate::batch::{Batch, BatchMeta, Checkpoint, OutputDecl};
use crate::component::{Context, Describe, Sink, Source, Transform};
use crate::error::{PluginError, Result};
use arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::time::Duration;

/// Metadata of a batch crossing from a source or a transform to the host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EmitMeta {
    pub port: Option<String>,
    pub category: String,
    #[serde(default)]
    pub source_system: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positions: Vec<crate::batch::Position>,
}

struct Instance<T> {
    rt: tokio::runtime::Runtime,
    component: T,
    outputs: VecDeque<(EmitMeta, arrow::array::RecordBatch)>,
    poisoned: bool,
}

pub(crate) fn owned(bytes: Vec<u8>) -> FfiOwnedBytes {
    let mut bytes = std::mem::ManuallyDrop::new(bytes);
    FfiOwnedBytes {
        ptr: bytes.as_mut_ptr(),
        len: bytes.len(),
        cap: bytes.capacity(),
    }
}

/// Frees bytes handed out by this plugin.
///
/// # Safety
/// `bytes` must come from this plugin and be freed once.
pub unsafe extern "C" fn free_bytes(bytes: FfiOwnedBytes) {
    if !bytes.ptr.is_null() {
        // SAFETY: the parts come from a Vec<u8> leaked by `owned`.
        drop(unsafe { Vec::from_raw_parts(bytes.ptr, bytes.len, bytes.cap) });
    }
}

/// # Safety
/// `b.ptr` must point to `b.len` readable bytes for the duration of the call.
pub(crate) unsafe fn borrowed<'a>(b: FfiBytes) -> &'a [u8] {
    if b.ptr.is_null() || b.len == 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts(b.ptr, b.len) }
    }
}

fn set(slot: *mut FfiOwnedBytes, bytes: Vec<u8>) {
    if !slot.is_null() {
        // SAFETY: the host passes a valid, writable, empty slot.
        unsafe { slot.write(owned(bytes)) };
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

fn report(err: *mut FfiOwnedBytes, e: &PluginError) -> i32 {
    set(err, serde_json::to_vec(e).unwrap_or_default());
    STATUS_ERROR
}

/// Runs `f`, turning errors and panics into a status and an error slot.
fn guard(err: *mut FfiOwnedBytes, f: impl FnOnce() -> Result<i32>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => report(err, &e),
        Err(p) => report(
            err,
            &PluginError::internal(format!("plugin panicked: {}", panic_message(p))),
        ),
    }
}

/// Runs `f` on a live instance; a panic poisons the instance.
fn with_instance<T>(
    handle: FfiHandle,
    err: *mut FfiOwnedBytes,
    f: impl FnOnce(&mut Instance<T>) -> Result<i32>,
) -> i32 {
    let inst = handle.cast::<Instance<T>>();
    if inst.is_null() {
        return report(err, &PluginError::internal("null plugin handle"));
    }
    // SAFETY: the host passes a handle made by `create` for this plugin and
    // never calls one instance from two threads at once.
    let poisoned = unsafe { (*inst).poisoned };
    if poisoned {
        return report(
            err,
            &PluginError::internal("instance is unusable after an earlier panic; recreate it"),
        );
    }
    let code = guard(err, || f(unsafe { &mut *inst }));
    if code == STATUS_ERROR {
        // A panic leaves the component in an unknown state.
        // SAFETY: as above.
        let inst = unsafe { &mut *inst };
        if let Some(true) = last_was_panic(err) {
            inst.poisoned = true;
        }
    }
    code
}

fn last_was_panic(err: *mut FfiOwnedBytes) -> Option<bool> {
    if err.is_null() {
        return None;
    }
    // SAFETY: `report` just filled the slot with bytes from `owned`.
    let bytes = unsafe {
        borrowed(FfiBytes {
            ptr: (*err).ptr,
            len: (*err).len,
        })
    };
    let e: PluginError = serde_json::from_slice(bytes).ok()?;
    Some(e.message.starts_with("plugin panicked"))
}

fn new_instance<T>(
    options: FfiBytes,
    context: FfiBytes,
    build: impl FnOnce(&tokio::runtime::Runtime, serde_json::Value, &Context) -> Result<T>,
) -> Result<Box<Instance<T>>> {
    // SAFETY: the host passes valid borrowed bytes.
    let opts: serde_json::Value = serde_json::from_slice(unsafe { borrowed(options) })
        .map_err(|e| PluginError::config(format!("options are not JSON: {e}")))?;
    let ctx_bytes = unsafe { borrowed(context) };
    let ctx: Context = if ctx_bytes.is_empty() {
        Context::default()
    } else {
        serde_json::from_slice(ctx_bytes)
            .map_err(|e| PluginError::internal(format!("bad context JSON: {e}")))?
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(format!("qdp-plugin-{}", ctx.component_id))
        .enable_all()
        .build()
        .map_err(|e| PluginError::internal(format!("cannot start plugin runtime: {e}")))?;
    let component = build(&rt, opts, &ctx)?;
    Ok(Box::new(Instance {
        rt,
        component,
        outputs: VecDeque::new(),
        poisoned: false,
    }))
}

fn parse_options<T: Describe>(v: serde_json::Value) -> Result<T::Options> {
    serde_json::from_value(v)
        .map_err(|e| PluginError::config(format!("invalid options for `{}`: {e}", T::NAME)))
}

unsafe extern "C" fn destroy<T>(handle: FfiHandle) {
    if handle.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `handle` was made by `create` from a Box<Instance<T>>.
        drop(unsafe { Box::from_raw(handle.cast::<Instance<T>>()) });
    }));
}

unsafe extern "C" fn probe_panic(err: *mut FfiOwnedBytes) -> i32 {
    guard(err, || {
        panic!("probe_panic: deliberate panic to prove containment")
    })
}

mod refuse;
mod sink;
mod source;
mod transform;

use refuse::*;
use sink::*;
use source::*;
use transform::*;

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| PluginError::internal(format!("cannot encode JSON: {e}")))
}

/// Owns the C strings the static descriptor points into.
struct Exported {
    descriptor: FfiDescriptor,
    _strings: Vec<CString>,
}

// SAFETY: the descriptor only holds pointers to the immutable strings owned
// next to it and to functions; nothing is mutated after construction.
unsafe impl Send for Exported {}
unsafe impl Sync for Exported {}

static EXPORTED: OnceLock<Exported> = OnceLock::new();

fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

fn descriptor<T: Describe>(
    kind: FfiKind,
    fill: impl FnOnce(&mut FfiDescriptor),
) -> *const FfiDescriptor {
    let exported = EXPORTED.get_or_init(|| {
        let schema = serde_json::to_string(&schemars::schema_for!(T::Options)).unwrap_or_default();
        // Serialised once; plain strings always encode, so the fallback is
        // only there to keep the descriptor well-formed.
        let dictionary =
            serde_json::to_string(&T::dictionary()).unwrap_or_else(|_| "[]".to_string());
        let strings = vec![
            cstring(crate::SDK_VERSION),
            cstring(T::NAME),
            cstring(T::VERSION),
            cstring(&schema),
            cstring(&dictionary),
        ];
        let ptr = |i: usize| -> *const c_char { strings[i].as_ptr() };
        let mut descriptor = FfiDescriptor {
            abi_major: ABI_MAJOR,
            abi_minor: ABI_MINOR,
            struct_size: std::mem::size_of::<FfiDescriptor>(),
            sdk_version: ptr(0),
            name: ptr(1),
            version: ptr(2),
            kind: kind as u32,
            capabilities: T::CAPABILITIES,
            options_schema: ptr(3),
            free_bytes,
            create: source_create_placeholder,
            destroy: destroy::<()>,
            describe: source_describe_placeholder,
            start: no_start,
            poll: no_poll,
            ack: no_ack,
            process: no_process,
            next_output: no_next_output,
            write: no_write,
            shutdown: no_shutdown,
            probe_panic,
            dictionary: ptr(4),
        };
        fill(&mut descriptor);
        Exported {
            descriptor,
            _strings: strings,
        }
    });
    &exported.descriptor
}

unsafe extern "C" fn source_create_placeholder(
    _: FfiBytes,
    _: FfiBytes,
    _: *mut FfiHandle,
    err: *mut FfiOwnedBytes,
) -> i32 {
    wrong_kind(err, "create")
}
unsafe extern "C" fn source_describe_placeholder(
    _: FfiHandle,
    _: FfiBytes,
    _: *mut FfiOwnedBytes,
    err: *mut FfiOwnedBytes,
) -> i32 {
    wrong_kind(err, "describe")
}

/// The descriptor for a source plugin; called by [`crate::export_source!`].
pub fn source_descriptor<T: Source>() -> *const FfiDescriptor {
    descriptor::<T>(FfiKind::Source, |d| {
        d.create = source_create::<T>;
        d.destroy = destroy::<T>;
        d.describe = source_describe::<T>;
        d.start = source_start::<T>;
        d.poll = source_poll::<T>;
        d.ack = source_ack::<T>;
        d.shutdown = source_shutdown::<T>;
    })
}

/// The descriptor for a transform plugin; called by [`crate::export_transform!`].
pub fn transform_descriptor<T: Transform>() -> *const FfiDescriptor {
    descriptor::<T>(FfiKind::Transform, |d| {
        d.create = transform_create::<T>;
        d.destroy = destroy::<T>;
        d.describe = transform_describe::<T>;
        d.process = transform_process::<T>;
        d.next_output = transform_next_output::<T>;
    })
}

/// The descriptor for a sink plugin; called by [`crate::export_sink!`].
pub fn sink_descriptor<T: Sink>() -> *const FfiDescriptor {
    descriptor::<T>(FfiKind::Sink, |d| {
        d.create = sink_create::<T>;
        d.destroy = destroy::<T>;
        d.describe = sink_describe::<T>;
        d.start = sink_open::<T>;
        d.write = sink_write::<T>;
        d.shutdown = sink_shutdown::<T>;
    })
}
