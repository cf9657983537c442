//! Entry points a kind of plugin does not have: the descriptor fills the
//! other kinds' slots with these, so a host calling the wrong one gets an
//! error instead of undefined behaviour.

use super::*;
pub(super) fn wrong_kind(err: *mut FfiOwnedBytes, call: &str) -> i32 {
    report(
        err,
        &PluginError::internal(format!("`{call}` is not supported by this kind of plugin")),
    )
}

pub(super) unsafe extern "C" fn no_start(
    _: FfiHandle,
    _: FfiBytes,
    _: u8,
    err: *mut FfiOwnedBytes,
) -> i32 {
    let _ = err;
    STATUS_OK
}
pub(super) unsafe extern "C" fn no_poll(
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
pub(super) unsafe extern "C" fn no_ack(_: FfiHandle, _: FfiBytes, err: *mut FfiOwnedBytes) -> i32 {
    wrong_kind(err, "ack")
}
pub(super) unsafe extern "C" fn no_process(
    _: FfiHandle,
    _: *mut FFI_ArrowArray,
    _: *const FFI_ArrowSchema,
    _: FfiBytes,
    err: *mut FfiOwnedBytes,
) -> i32 {
    wrong_kind(err, "process")
}
pub(super) unsafe extern "C" fn no_next_output(
    _: FfiHandle,
    _: *mut FFI_ArrowArray,
    _: *mut FFI_ArrowSchema,
    _: *mut FfiOwnedBytes,
    err: *mut FfiOwnedBytes,
) -> i32 {
    wrong_kind(err, "next_output")
}
pub(super) unsafe extern "C" fn no_write(
    _: FfiHandle,
    _: *mut FFI_ArrowArray,
    _: *const FFI_ArrowSchema,
    _: usize,
    _: FfiBytes,
    err: *mut FfiOwnedBytes,
) -> i32 {
    wrong_kind(err, "write")
}
pub(super) unsafe extern "C" fn no_shutdown(_: FfiHandle, _: *mut FfiOwnedBytes) -> i32 {
    STATUS_OK
}
