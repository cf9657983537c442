//! Moving record batches across the boundary as the Arrow C Data Interface.
//!
//! A batch travels as one struct array whose children are the columns; the
//! producer's `release` callback frees the buffers, so no copy is made.

use crate::error::{PluginError, Result};
use arrow::array::{Array, RecordBatch, StructArray};
use arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema, from_ffi};

/// Exports `batch` into the caller's Arrow structs.
///
/// # Safety
/// `array` and `schema` must be valid for writes; what they held before is
/// released.
pub unsafe fn export_batch(
    batch: &RecordBatch,
    array: *mut FFI_ArrowArray,
    schema: *mut FFI_ArrowSchema,
) -> Result<()> {
    let data = StructArray::from(batch.clone()).into_data();
    let ffi_schema = FFI_ArrowSchema::try_from(data.data_type())?;
    let ffi_array = FFI_ArrowArray::new(&data);
    // SAFETY: guaranteed by the caller; assignment releases the old value.
    unsafe {
        *array = ffi_array;
        *schema = ffi_schema;
    }
    Ok(())
}

/// Imports a batch, moving the array out of `array` (an empty one is left).
///
/// # Safety
/// `array` must point to a live C Data Interface array and `schema` to the
/// matching schema.
pub unsafe fn import_batch(
    array: *mut FFI_ArrowArray,
    schema: *const FFI_ArrowSchema,
) -> Result<RecordBatch> {
    if array.is_null() || schema.is_null() {
        return Err(PluginError::internal("null Arrow array or schema"));
    }
    // SAFETY: guaranteed by the caller.
    let (ffi_array, ffi_schema) =
        unsafe { (std::ptr::replace(array, FFI_ArrowArray::empty()), &*schema) };
    // SAFETY: the array and schema match, as guaranteed by the caller.
    let data = unsafe { from_ffi(ffi_array, ffi_schema)? };
    let structs = StructArray::from(data);
    if structs.null_count() > 0 {
        return Err(PluginError::internal(
            "batch struct array has top-level nulls",
        ));
    }
    Ok(RecordBatch::from(structs))
}
