//! The `extern "C"` entry points of a sink plugin.

use super::*;
pub(super) unsafe extern "C" fn sink_create<T: Sink>(
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

pub(super) unsafe extern "C" fn sink_describe<T: Sink>(
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

pub(super) unsafe extern "C" fn sink_open<T: Sink>(
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

pub(super) unsafe extern "C" fn sink_write<T: Sink>(
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

pub(super) unsafe extern "C" fn sink_shutdown<T: Sink>(
    handle: FfiHandle,
    err: *mut FfiOwnedBytes,
) -> i32 {
    with_instance::<T>(handle, err, |inst| {
        let Instance { rt, component, .. } = inst;
        rt.block_on(component.shutdown())?;
        Ok(STATUS_OK)
    })
}
