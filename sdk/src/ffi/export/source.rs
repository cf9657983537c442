//! The `extern "C"` entry points of a source plugin.

use super::*;
pub(super) unsafe extern "C" fn source_create<T: Source>(
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

pub(super) unsafe extern "C" fn source_describe<T: Source>(
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

pub(super) unsafe extern "C" fn source_start<T: Source>(
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

pub(super) unsafe extern "C" fn source_poll<T: Source>(
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

pub(super) unsafe extern "C" fn source_ack<T: Source>(
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

pub(super) unsafe extern "C" fn source_shutdown<T: Source>(
    handle: FfiHandle,
    err: *mut FfiOwnedBytes,
) -> i32 {
    with_instance::<T>(handle, err, |inst| {
        let Instance { rt, component, .. } = inst;
        rt.block_on(component.shutdown())?;
        Ok(STATUS_OK)
    })
}
