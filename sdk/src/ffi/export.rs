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

fn wrong_kind(err: *mut FfiOwnedBytes, call: &str) -> i32 {
    report(
        err,
        &PluginError::internal(format!("`{call}` is not supported by this kind of plugin")),
    )
}

unsafe extern "C" fn no_start(_: FfiHandle, _: FfiBytes, _: u8, err: *mut FfiOwnedBytes) -> i32 {
    let _ = err;
    STATUS_OK
}
unsafe extern "C" fn no_poll(
    _: FfiHandle,
    _: u64,
    _: *mut FFI_ArrowArray,
    _: *mut FFI_ArrowSchema,
    _: *mut FfiOwnedBytes,
    _: *mut FfiOwnedBytes,
    err: *mut FfiOwnedBytes,
) -> i32 {
    wrong_kind(err, "poll")
}
unsafe extern "C" fn no_ack(_: FfiHandle, _: FfiBytes, err: *mut FfiOwnedBytes) -> i32 {
    wrong_kind(err, "ack")
}
unsafe extern "C" fn no_process(
    _: FfiHandle,
    _: *mut FFI_ArrowArray,
    _: *const FFI_ArrowSchema,
    _: FfiBytes,
    err: *mut FfiOwnedBytes,
) -> i32 {
    wrong_kind(err, "process")
}
unsafe extern "C" fn no_next_output(
    _: FfiHandle,
    _: *mut FFI_ArrowArray,
    _: *mut FFI_ArrowSchema,
    _: *mut FfiOwnedBytes,
    err: *mut FfiOwnedBytes,
) -> i32 {
    wrong_kind(err, "next_output")
}
unsafe extern "C" fn no_write(
    _: FfiHandle,
    _: *mut FFI_ArrowArray,
    _: *const FFI_ArrowSchema,
    _: usize,
    _: FfiBytes,
    err: *mut FfiOwnedBytes,
) -> i32 {
    wrong_kind(err, "write")
}
unsafe extern "C" fn no_shutdown(_: FfiHandle, _: *mut FfiOwnedBytes) -> i32 {
    STATUS_OK
}

// ---- sources ----

unsafe extern "C" fn source_create<T: Source>(
    options: FfiBytes,
    context: FfiBytes,
    out: *mut FfiHandle,
    err: *mut FfiOwnedBytes,
) -> i32 {
    guard(err, || {
        let inst = new_instance(options, context, |_, v, ctx| {
            T::new(parse_options::<T>(v)?, ctx)
        })?;
        // SAFETY: the host passes a writable handle slot.
        unsafe { out.write(Box::into_raw(inst).cast()) };
        Ok(STATUS_OK)
    })
}

unsafe extern "C" fn source_describe<T: Source>(
    handle: FfiHandle,
    _inputs: FfiBytes,
    out: *mut FfiOwnedBytes,
    err: *mut FfiOwnedBytes,
) -> i32 {
    with_instance::<T>(handle, err, |inst| {
        let decls = inst.component.outputs();
        set(out, json(&decls)?);
        Ok(STATUS_OK)
    })
}

unsafe extern "C" fn source_start<T: Source>(
    handle: FfiHandle,
    checkpoint: FfiBytes,
    has_checkpoint: u8,
    err: *mut FfiOwnedBytes,
) -> i32 {
    with_instance::<T>(handle, err, |inst| {
        let ck = (has_checkpoint != 0)
            // SAFETY: the host passes valid borrowed bytes.
            .then(|| Checkpoint(unsafe { borrowed(checkpoint) }.to_vec()));
        let Instance { rt, component, .. } = inst;
        rt.block_on(component.start(ck))?;
        Ok(STATUS_OK)
    })
}

unsafe extern "C" fn source_poll<T: Source>(
    handle: FfiHandle,
    timeout_ms: u64,
    out_array: *mut FFI_ArrowArray,
    out_schema: *mut FFI_ArrowSchema,
    out_meta: *mut FfiOwnedBytes,
    out_checkpoint: *mut FfiOwnedBytes,
    err: *mut FfiOwnedBytes,
) -> i32 {
    with_instance::<T>(handle, err, |inst| {
        let Instance { rt, component, .. } = inst;
        let timeout = Duration::from_millis(timeout_ms);
        let next =
            rt.block_on(async { tokio::time::timeout(timeout, component.next_batch()).await });
        match next {
            Err(_elapsed) => Ok(STATUS_PENDING),
            Ok(Err(e)) => Err(e),
            Ok(Ok(None)) => Ok(STATUS_END),
            Ok(Ok(Some(b))) => {
                let meta = EmitMeta {
                    port: None,
                    category: b.category,
                    source_system: b.source_system,
                    positions: b.positions,
                };
                // SAFETY: the host passes writable Arrow structs.
                unsafe { export_batch(&b.data, out_array, out_schema)? };
                set(out_meta, json(&meta)?);
                set(out_checkpoint, b.checkpoint.0);
                Ok(STATUS_OK)
            }
        }
    })
}

unsafe extern "C" fn source_ack<T: Source>(
    handle: FfiHandle,
    checkpoint: FfiBytes,
    err: *mut FfiOwnedBytes,
) -> i32 {
    with_instance::<T>(handle, err, |inst| {
        // SAFETY: the host passes valid borrowed bytes.
        let ck = Checkpoint(unsafe { borrowed(checkpoint) }.to_vec());
        let Instance { rt, component, .. } = inst;
        rt.block_on(component.ack(ck))?;
        Ok(STATUS_OK)
    })
}

unsafe extern "C" fn source_shutdown<T: Source>(handle: FfiHandle, err: *mut FfiOwnedBytes) -> i32 {
    with_instance::<T>(handle, err, |inst| {
        let Instance { rt, component, .. } = inst;
        rt.block_on(component.shutdown())?;
        Ok(STATUS_OK)
    })
}

// ---- transforms ----

unsafe extern "C" fn transform_create<T: Transform>(
    options: FfiBytes,
    context: FfiBytes,
    out: *mut FfiHandle,
    err: *mut FfiOwnedBytes,
) -> i32 {
    guard(err, || {
        let inst = new_instance(options, context, |_, v, ctx| {
            T::new(parse_options::<T>(v)?, ctx)
        })?;
        // SAFETY: the host passes a writable handle slot.
        unsafe { out.write(Box::into_raw(inst).cast()) };
        Ok(STATUS_OK)
    })
}

unsafe extern "C" fn transform_describe<T: Transform>(
    handle: FfiHandle,
    inputs: FfiBytes,
    out: *mut FfiOwnedBytes,
    err: *mut FfiOwnedBytes,
) -> i32 {
    with_instance::<T>(handle, err, |inst| {
        // SAFETY: the host passes valid borrowed bytes.
        let inputs: Vec<OutputDecl> = serde_json::from_slice(unsafe { borrowed(inputs) })
            .map_err(|e| PluginError::internal(format!("bad input declarations: {e}")))?;
        let decls = inst.component.outputs(&inputs)?;
        set(out, json(&decls)?);
        Ok(STATUS_OK)
    })
}

unsafe extern "C" fn transform_process<T: Transform>(
    handle: FfiHandle,
    array: *mut FFI_ArrowArray,
    schema: *const FFI_ArrowSchema,
    meta: FfiBytes,
    err: *mut FfiOwnedBytes,
) -> i32 {
    with_instance::<T>(handle, err, |inst| {
        // SAFETY: the host passes a live array and schema, and borrowed bytes.
        let data = unsafe { import_batch(array, schema)? };
        let meta: BatchMeta = serde_json::from_slice(unsafe { borrowed(meta) })
            .map_err(|e| PluginError::internal(format!("bad batch metadata: {e}")))?;
        let source_system = meta.source_system.clone();
        let emits = inst.component.process(&Batch { data, meta })?;
        for e in emits {
            let m = EmitMeta {
                port: e.port,
                category: e.category,
                source_system: source_system.clone(),
                positions: Vec::new(),
            };
            inst.outputs.push_back((m, e.data));
        }
        Ok(STATUS_OK)
    })
}

unsafe extern "C" fn transform_next_output<T: Transform>(
    handle: FfiHandle,
    out_array: *mut FFI_ArrowArray,
    out_schema: *mut FFI_ArrowSchema,
    out_meta: *mut FfiOwnedBytes,
    err: *mut FfiOwnedBytes,
) -> i32 {
    with_instance::<T>(handle, err, |inst| match inst.outputs.pop_front() {
        None => Ok(STATUS_END),
        Some((meta, data)) => {
            // SAFETY: the host passes writable Arrow structs.
            unsafe { export_batch(&data, out_array, out_schema)? };
            set(out_meta, json(&meta)?);
            Ok(STATUS_OK)
        }
    })
}

// ---- sinks ----

unsafe extern "C" fn sink_create<T: Sink>(
    options: FfiBytes,
    context: FfiBytes,
    out: *mut FfiHandle,
    err: *mut FfiOwnedBytes,
) -> i32 {
    guard(err, || {
        let inst = new_instance(options, context, |_, v, ctx| {
            T::new(parse_options::<T>(v)?, ctx)
        })?;
        // SAFETY: the host passes a writable handle slot.
        unsafe { out.write(Box::into_raw(inst).cast()) };
        Ok(STATUS_OK)
    })
}

unsafe extern "C" fn sink_describe<T: Sink>(
    handle: FfiHandle,
    _inputs: FfiBytes,
    out: *mut FfiOwnedBytes,
    err: *mut FfiOwnedBytes,
) -> i32 {
    with_instance::<T>(handle, err, |inst| {
        set(out, json(&inst.component.accepts())?);
        Ok(STATUS_OK)
    })
}

unsafe extern "C" fn sink_open<T: Sink>(
    handle: FfiHandle,
    _checkpoint: FfiBytes,
    _has: u8,
    err: *mut FfiOwnedBytes,
) -> i32 {
    with_instance::<T>(handle, err, |inst| {
        let Instance { rt, component, .. } = inst;
        rt.block_on(component.open())?;
        Ok(STATUS_OK)
    })
}

unsafe extern "C" fn sink_write<T: Sink>(
    handle: FfiHandle,
    arrays: *mut FFI_ArrowArray,
    schemas: *const FFI_ArrowSchema,
    count: usize,
    metas: FfiBytes,
    err: *mut FfiOwnedBytes,
) -> i32 {
    with_instance::<T>(handle, err, |inst| {
        // SAFETY: the host passes valid borrowed bytes.
        let metas: Vec<BatchMeta> = serde_json::from_slice(unsafe { borrowed(metas) })
            .map_err(|e| PluginError::internal(format!("bad batch metadata: {e}")))?;
        if metas.len() != count {
            return Err(PluginError::internal("batch and metadata counts differ"));
        }
        let mut batches = Vec::with_capacity(count);
        for (i, meta) in metas.into_iter().enumerate() {
            // SAFETY: the host passes `count` live arrays and schemas.
            let data = unsafe { import_batch(arrays.add(i), schemas.add(i))? };
            batches.push(Batch { data, meta });
        }
        let Instance { rt, component, .. } = inst;
        rt.block_on(component.write(&batches))?;
        Ok(STATUS_OK)
    })
}

unsafe extern "C" fn sink_shutdown<T: Sink>(handle: FfiHandle, err: *mut FfiOwnedBytes) -> i32 {
    with_instance::<T>(handle, err, |inst| {
        let Instance { rt, component, .. } = inst;
        rt.block_on(component.shutdown())?;
        Ok(STATUS_OK)
    })
}

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
        let strings = vec![
            cstring(crate::SDK_VERSION),
            cstring(T::NAME),
            cstring(T::VERSION),
            cstring(&schema),
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
