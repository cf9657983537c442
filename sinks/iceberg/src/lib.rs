//! The `iceberg` sink (plugin crate `qdp-sink-iceberg`): category rows kept as Apache Iceberg
//! tables, the history every engine can read without qdp (Spark, Trino,
//! Snowflake, DuckDB, ClickHouse, pyiceberg).
//!
//! * **Tables**: one per category (`{category}` by default) in one
//!   namespace, created from the category schema with its glossary as
//!   column docs, format v3 (nanosecond `timestamptz_ns`), partitioned by
//!   `day(<designated timestamp>)` (`time_partition`: month, year, none)
//!   and `identity(source_system_name)`.
//!   Rejects go to `<category>_unqualified` (all text plus the reason).
//! * **Catalogs**: a SQL catalog (the JDBC layout) in a SQLite file by
//!   default or in Postgres, or a REST catalog.
//! * **Commits**: every `write` call (one checkpoint of the runtime) is at
//!   most one snapshot per table. The snapshot summary carries the highest
//!   batch number per (category, origin, producer) committed by this sink;
//!   a replayed batch at or below its mark is skipped, so a crash anywhere
//!   never shows a row twice. A crash after data files are written and
//!   before the commit leaves files no snapshot references.
//! * **Schema evolution**: when a category gains a nullable field, the
//!   table gains the column at open; older rows read it as null.
//!
//! ```toml
//! [sinks.history]
//! type = "iceberg"
//! inputs = ["valid"]
//! catalog_uri = "postgres://qdp@warehouse-db/iceberg"   # default: sqlite file in data_dir
//! warehouse = "file:///srv/qdp/warehouse"             # default: data_dir/warehouse
//! namespace = "history"
//! target_file_size_bytes = 134217728
//! batch = { max_rows = 5000000, max_wait = "1h" }      # hourly commits
//! ```

#![forbid(unsafe_code)]

pub mod catalog;
pub mod compact;
pub mod config;
pub mod inspect;
pub mod marks;
mod partition;
pub mod s3;
pub mod shape;
mod sink;

pub use config::{CatalogKind, IcebergOptions, S3Options, TimePartition};
pub use sink::IcebergSink;
