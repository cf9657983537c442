//! The dictionary crosses the C ABI: the built `eia` library, loaded by the
//! host's dynamic loader, reports exactly what `Eia::dictionary()` declares.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use qdp_sdk::Describe;
use qdp_sdk::ffi::abi::{ABI_MAJOR, ABI_MINOR};

#[test]
fn the_built_plugin_carries_its_dictionary_through_the_abi() {
    let lib = qdp_sdk::conformance::built_library("qdp_eia").unwrap();
    let info = lib.info();
    assert_eq!(info.abi, (ABI_MAJOR, ABI_MINOR));
    let declared = qdp_eia::Eia::dictionary();
    assert!(!declared.is_empty());
    assert_eq!(info.dictionary, declared);
    assert!(
        info.dictionary
            .iter()
            .any(|e| e.field == "release_field_value" && e.note.is_some()),
        "notes survive the crossing"
    );
}
