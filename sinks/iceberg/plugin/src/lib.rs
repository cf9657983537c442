//! `iceberg`: the qdp sink plugin built from [`qdp_iceberg`], where the
//! sink lives as a library so that `qdp` itself can read the tables back
//! (one library may export the plugin entry symbol, not two).

#![forbid(unsafe_code)]

pub use qdp_iceberg::{IcebergOptions, IcebergSink};

qdp_sdk::export_sink!(IcebergSink);
