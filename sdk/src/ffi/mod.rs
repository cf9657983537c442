//! The C ABI: its types ([`abi`]), the plugin side ([`export`]), the host side
//! ([`host`]) and Arrow batches across it ([`arrow_io`]).

pub mod abi;
pub mod arrow_io;
mod elf;
pub mod export;
pub mod host;
