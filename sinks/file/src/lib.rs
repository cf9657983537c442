//! `file`: a qdp sink plugin writing Parquet (zstd), NDJSON or CSV files.
//!
//! Files are written under a temporary name, fsynced and renamed, so a
//! reader never sees half a file; names carry the batch numbers they hold,
//! so a replay skips what is already committed instead of duplicating it.

#![forbid(unsafe_code)]

mod config;
mod naming;
mod sink;
mod writers;

pub use config::{FileOptions, Format};
pub use sink::FileSink;

qdp_sdk::export_sink!(FileSink);
