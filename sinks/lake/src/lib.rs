//! `lake`: a qdp sink plugin that keeps raw objects (documents exactly as a
//! batch source received them) immutable, on a local file system or in an
//! S3-compatible bucket.
//!
//! It takes `raw_object` batches only (`qdp_sdk::raw`). Each row's content
//! is checked against its sha256 and stored at
//! `<prefix>/<source>/<yyyy>/<mm>/<dd>/<sha256>.<ext>`; since the name is
//! the content's hash, writing an object that exists is a no-op and replays
//! add nothing. Nothing is ever overwritten or deleted.

#![forbid(unsafe_code)]

pub mod config;
mod local;
mod s3;
mod sink;
mod store;

pub use config::LakeOptions;
pub use sink::LakeSink;
pub use store::Written;

qdp_sdk::export_sink!(LakeSink);
