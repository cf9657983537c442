//! The C ABI: its types ([`abi`]), the plugin side ([`export`]), the host side
//! ([`host`], which reads descriptors of any 1.x minor through `descriptor`)
//! and Arrow batches across it ([`arrow_io`]).

pub mod abi;
pub mod arrow_io;
mod descriptor;
mod elf;
pub mod export;
pub mod host;
