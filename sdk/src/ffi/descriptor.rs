//! Host side: reading a plugin's descriptor across minor versions.
//!
//! A plugin built against an older minor has a shorter descriptor, so the
//! host never takes a reference to the plugin's struct as a whole: it copies
//! the ABI 1.0 prefix into memory of its own, then reads each appended field
//! only when the plugin's `abi_minor` is new enough *and* its `struct_size`
//! covers the field. An absent field reads as null, the same as "none".

use super::abi::*;
use crate::dictionary::FieldSource;
use std::ffi::{CStr, c_char};
use std::mem::{MaybeUninit, offset_of, size_of};

/// Which fields appended after ABI 1.0 a descriptor carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// [`FfiDescriptor::dictionary`] (ABI 1.1).
    pub dictionary: bool,
}

/// Checks a descriptor's `struct_size` against its `abi_minor` and says which
/// appended fields may be read. A descriptor smaller than ABI 1.0's is
/// malformed; the reason is returned for the load error.
pub fn appended_fields(struct_size: usize, minor: u32) -> Result<Appended, String> {
    if struct_size < DESCRIPTOR_1_0_SIZE {
        return Err(format!(
            "descriptor is {struct_size} bytes, ABI {ABI_MAJOR}.0 needs at least {DESCRIPTOR_1_0_SIZE}"
        ));
    }
    let covers = |offset: usize, size: usize| struct_size >= offset + size;
    Ok(Appended {
        dictionary: minor >= DICTIONARY_SINCE_MINOR
            && covers(
                offset_of!(FfiDescriptor, dictionary),
                size_of::<*const c_char>(),
            ),
    })
}

/// Copies a plugin's descriptor into host memory; appended fields the plugin
/// does not carry are null.
///
/// # Safety
/// `ptr` must point to a readable descriptor of at least
/// [`DESCRIPTOR_1_0_SIZE`] bytes whose function pointers are valid, and
/// `appended` must come from [`appended_fields`] on its own size and minor.
pub unsafe fn copy_descriptor(ptr: *const FfiDescriptor, appended: Appended) -> FfiDescriptor {
    let mut out = MaybeUninit::<FfiDescriptor>::uninit();
    let dst = out.as_mut_ptr();
    // SAFETY: the caller guarantees the prefix is readable; `dst` is a
    // distinct, large enough allocation.
    unsafe {
        std::ptr::copy_nonoverlapping(ptr.cast::<u8>(), dst.cast::<u8>(), DESCRIPTOR_1_0_SIZE);
    }
    let dictionary = if appended.dictionary {
        // SAFETY: `appended_fields` checked that `struct_size` covers it;
        // reading through the raw place creates no reference to the whole.
        unsafe { std::ptr::addr_of!((*ptr).dictionary).read() }
    } else {
        std::ptr::null()
    };
    // SAFETY: every field is now written: `repr(C)` keeps declaration order
    // and `dictionary` is the last field, so all 1.0 fields lie inside the
    // copied prefix; the appended field is written here.
    unsafe {
        std::ptr::addr_of_mut!((*dst).dictionary).write(dictionary);
        out.assume_init()
    }
}

/// Parses the dictionary a descriptor points to: null is none, anything
/// else must be a JSON array of [`FieldSource`].
///
/// # Safety
/// A non-null `p` must point to a NUL-terminated string that stays valid.
pub unsafe fn read_dictionary(p: *const c_char) -> Result<Vec<FieldSource>, String> {
    if p.is_null() {
        return Ok(Vec::new());
    }
    // SAFETY: guaranteed by the caller.
    let text = unsafe { CStr::from_ptr(p) }.to_bytes();
    serde_json::from_slice(text).map_err(|e| {
        format!(
            "dictionary is not a JSON array of {{category, field, from, note}}: {e} \
             (rebuild the plugin with qdp_sdk's export macros)"
        )
    })
}

#[cfg(test)]
#[path = "descriptor_tests.rs"]
mod tests;
