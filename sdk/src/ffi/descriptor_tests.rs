//! The descriptor as the export macros build it, and forged copies of it
//! with older sizes and minors, read through the host's loader.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::dictionary::FieldSource;
use crate::ffi::host::{LoadError, PluginLibrary};
use crate::{Checkpoint, Context, Describe, OutputDecl, Result, Source, SourceBatch};
use std::ffi::CString;
use std::path::Path;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct NoOptions {}

/// A source that only declares a dictionary.
struct Declares;

impl Describe for Declares {
    type Options = NoOptions;
    const NAME: &'static str = "declares";
    const VERSION: &'static str = "0.0.1";
    fn dictionary() -> Vec<FieldSource> {
        vec![
            FieldSource::new(
                "numeric_economic_data",
                "release_field_value",
                "column `value`",
            )
            .note("as published"),
            FieldSource::new("numeric_economic_data", "release_code", "constant `X`"),
        ]
    }
}

impl Source for Declares {
    fn new(_: NoOptions, _: &Context) -> Result<Self> {
        Ok(Self)
    }
    fn outputs(&self) -> Vec<OutputDecl> {
        Vec::new()
    }
    async fn start(&mut self, _: Option<Checkpoint>) -> Result<()> {
        Ok(())
    }
    async fn next_batch(&mut self) -> Result<Option<SourceBatch>> {
        Ok(None)
    }
}

fn real() -> FfiDescriptor {
    let p = crate::ffi::export::source_descriptor::<Declares>();
    // SAFETY: the export returns a valid static descriptor; the copy is plain
    // data (integers and pointers) with no destructor.
    unsafe { std::ptr::read(p) }
}

fn load(d: &FfiDescriptor) -> std::result::Result<Vec<FieldSource>, LoadError> {
    // SAFETY: `d` is a full descriptor whose strings are static or outlive
    // the call; the loaded library is dropped before they are.
    let lib = unsafe { PluginLibrary::from_descriptor(Path::new("forged.so"), d) }?;
    Ok(lib.info().dictionary.clone())
}

#[test]
fn the_export_macros_carry_the_declared_dictionary_to_the_host() {
    let d = real();
    assert_eq!(
        (d.abi_minor, d.struct_size),
        (ABI_MINOR, size_of::<FfiDescriptor>())
    );
    assert_eq!(load(&d).unwrap(), Declares::dictionary());
}

#[test]
fn a_1_0_descriptor_has_no_dictionary_and_is_not_read_past_its_size() {
    // The dictionary slot holds malformed JSON: reading it would fail the load.
    let junk = CString::new("not json").unwrap();
    let mut d = real();
    d.dictionary = junk.as_ptr();
    d.abi_minor = 0;
    d.struct_size = DESCRIPTOR_1_0_SIZE;
    assert_eq!(load(&d).unwrap(), Vec::new());
    // A new minor but a size that stops before the field: still not read.
    d.abi_minor = 1;
    assert_eq!(load(&d).unwrap(), Vec::new());
    // An old minor with a large struct: the field is not part of 1.0.
    d.abi_minor = 0;
    d.struct_size = size_of::<FfiDescriptor>();
    assert_eq!(load(&d).unwrap(), Vec::new());
}

#[test]
fn a_null_dictionary_is_empty_and_a_malformed_one_refuses_the_plugin() {
    let mut d = real();
    d.dictionary = std::ptr::null();
    assert_eq!(load(&d).unwrap(), Vec::new());
    let junk = CString::new(r#"[{"category": "x"}]"#).unwrap();
    d.dictionary = junk.as_ptr();
    let e = load(&d).unwrap_err();
    assert!(matches!(e, LoadError::BadDescriptor { .. }), "{e:?}");
    let s = e.to_string();
    assert!(s.contains("forged.so") && s.contains("dictionary"), "{s}");
    assert!(s.contains("missing field `field`"), "{s}");
}

#[test]
fn a_descriptor_smaller_than_1_0_is_refused() {
    let mut d = real();
    d.struct_size = DESCRIPTOR_1_0_SIZE - 8;
    let e = load(&d).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("needs at least {DESCRIPTOR_1_0_SIZE}")),
        "{e}"
    );
}

#[test]
fn appended_fields_follow_size_and_minor() {
    let full = size_of::<FfiDescriptor>();
    let yes = Appended { dictionary: true };
    let no = Appended { dictionary: false };
    assert_eq!(appended_fields(full, 1), Ok(yes));
    assert_eq!(appended_fields(full + 64, 7), Ok(yes));
    assert_eq!(appended_fields(full - 1, 1), Ok(no));
    assert_eq!(appended_fields(DESCRIPTOR_1_0_SIZE, 0), Ok(no));
    assert_eq!(appended_fields(full, 0), Ok(no));
    assert!(appended_fields(DESCRIPTOR_1_0_SIZE - 1, 0).is_err());
    assert_eq!(DESCRIPTOR_1_0_SIZE + size_of::<usize>(), full);
}
