//! `files`: a qdp source plugin for a drop folder of internal data (CSV and
//! spreadsheets: clients, suppliers, employees...).
//!
//! Each pass reads the files that match a dataset's glob and have settled
//! (not modified for `settle`), and emits each one whole on `raw_object`
//! (for the lake) and its rows, schema-on-read, on `bronze_<dataset>`: the
//! header's columns as nullable text behind the metadata columns `_row_id`
//! (`<sha256>:<row>`), `_source_object`, `_source_sha256`, `_row_number`. A
//! file with a row it cannot read (wrong encoding, a row wider or narrower
//! than the header) goes to `bronze_<dataset>_unqualified` whole, each row
//! with its reason, and ends in `rejected/`.
//!
//! Each file is loaded once: its content hash goes into the checkpoint, and
//! a file is moved to `archive/<yyyy>/<mm>/<dd>/` only in `ack`, once every
//! sink holds it. A file whose hash is known is just moved.

#![forbid(unsafe_code)]

mod bronze;
pub mod config;
mod csv_read;
mod folder;
mod header;
mod parsed;
mod sheet_read;
mod source;
mod watermark;

pub use bronze::{META, unqualified_schema};
pub use config::FilesOptions;
pub use source::{Files, bronze_category, unqualified_category};

qdp_sdk::export_source!(Files);
