//! The `extern "C"` entry points of a transform plugin.

use super::*;
pub(super) unsafe extern "C" fn transform_create<T: Transform>(
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

pub(super) unsafe extern "C" fn transform_describe<T: Transform>(
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

pub(super) unsafe extern "C" fn transform_process<T: Transform>(
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

pub(super) unsafe extern "C" fn transform_next_output<T: Transform>(
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
