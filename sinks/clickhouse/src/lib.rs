//! `clickhouse`: a qdp sink plugin for the realtime store (ARCHITECTURE §2):
//! ClickHouse tables implementing the category schemas, ordered by
//! (source_system_name, designated identifier, designated timestamp), with
//! latest-value views and only a few days of data.
//!
//! It talks HTTP through the `clickhouse` crate and works with every server
//! from 18.16 (Debian's package) to current releases: it reads
//! `SELECT version()` at open and adapts its DDL.
//!
//! ```toml
//! [sinks.store]
//! type = "clickhouse"
//! inputs = ["validate", "validate.unqualified"]
//! url = "http://127.0.0.1:8123"
//! database = "qdp"               # created if missing
//! user = "qdp_writer"
//! password = "${CLICKHOUSE_PASSWORD}"
//! retention_days = 3             # drop day partitions older than 3 days
//! settings = { max_insert_block_size = 1048576 }
//!
//! [sinks.store.batch]             # fewer, larger INSERTs (see Throughput)
//! max_rows = 100000
//! max_wait = "1s"
//! ```
//!
//! # Tables
//!
//! One table per category (`table = "{category}"` by default), created on
//! the first batch of the category and never dropped. The engine is
//! `ReplacingMergeTree(ingestion_time_realtime_store)`: the sink stamps
//! every row with the time of its write, and of several copies of a row
//! (same sorting key) the newest wins.
//!
//! * **Category schemas** (the batch names a designated identifier in its
//!   schema metadata, or its category is in the SDK's registry):
//!   `ORDER BY (source_system_name, <identifier>, <timestamp>, <rest of
//!   the unique key>)`, `PARTITION BY` the UTC day of the designated
//!   timestamp. Reference data without a timestamp (`derivative_symbols`),
//!   or whose designated timestamp may be null (`economic_data_releases`),
//!   is a single partition (`tuple()`): retention never drops it, and the
//!   newest ingested row per key wins, which makes the table an upsert of
//!   the reference data.
//! * **Everything else** (`<category>_unqualified` rejects, raw
//!   categories): no natural key can be trusted (a reject's identifier may
//!   be missing), so rows are keyed by batch identity: `ORDER BY
//!   (_qdp_origin, _qdp_producer, _qdp_seq, _qdp_row)`, the batch's origin,
//!   producer and number and the row's index in it, which name the same
//!   row when a source replays deterministically. `PARTITION BY` the UTC
//!   day of `ingestion_time_realtime_store`.
//!
//! Arrow types map to ClickHouse types as follows; a nullable field
//! becomes `Nullable(T)` except in the sorting key, which cannot hold
//! Nullable columns on 18.16 (a null key value is stored as `''` or 0).
//!
//! | Arrow | ClickHouse |
//! |---|---|
//! | Utf8, LargeUtf8, Binary, LargeBinary | String |
//! | Int8..Int64, UInt8..UInt64, Float32, Float64 | the same |
//! | Boolean | UInt8 (0/1) |
//! | Timestamp (any unit, stored in ns) | server ≥ 21.6: `DateTime64(9, 'UTC')`; older: `UInt64` nanoseconds since the epoch plus `<name>_dt DateTime('UTC') DEFAULT toDateTime(intDiv(<name>, 1000000000), 'UTC')` |
//! | anything else | String, its text form from Arrow's cast |
//!
//! DateTime64 exists from 20.1, but only 21.6 accepts it as the
//! ReplacingMergeTree version column, hence the cut. A table keeps the
//! types it was created with when the server is upgraded; the sink writes
//! whichever it finds. `ingestion_time_realtime_store` is a timestamp
//! column like the others. On 18.16 `derivatives_tick_market_data` is:
//!
//! ```sql
//! CREATE TABLE qdp.derivatives_tick_market_data (
//!   source_system_name String, exchange_code String, symbol_code String,
//!   symbol_type String, price Float64, price_unit String, size Float64,
//!   size_unit String,
//!   tick_time UInt64,
//!   tick_time_dt DateTime('UTC') DEFAULT toDateTime(intDiv(tick_time, 1000000000), 'UTC'),
//!   open_interest Nullable(Float64), open_interest_unit Nullable(String),
//!   component_instance_name String,
//!   ingestion_time UInt64, ingestion_time_dt DateTime('UTC') DEFAULT ...,
//!   ingestion_time_realtime_store UInt64, ingestion_time_realtime_store_dt DateTime('UTC') DEFAULT ...
//! ) ENGINE = ReplacingMergeTree(ingestion_time_realtime_store)
//! PARTITION BY toDate(toDateTime(intDiv(tick_time, 1000000000), 'UTC'))
//! ORDER BY (source_system_name, symbol_code, tick_time)
//! ```
//!
//! **Schema evolution** adds only: a batch column the table lacks is added
//! with `ALTER TABLE ... ADD COLUMN` as Nullable (rows already stored have
//! no value); nothing is dropped or retyped. A batch column whose type the
//! table column cannot hold is refused with a config error naming both.
//! Batch columns named like the sink's own (`ingestion_time_realtime_store`,
//! `_qdp_*`) are ignored.
//!
//! # Replays
//!
//! `write` may be called again with the same batches; every copy of a row
//! has the same sorting key, so a reader of `SELECT ... FROM t FINAL` or of
//! the latest-value view sees each row once, right away; background merges
//! remove the copies from disk later. Plain `SELECT` without FINAL may see
//! copies until then. Insert deduplication is not used: 18.16 has it only
//! for replicated tables.
//!
//! # Latest-value view
//!
//! `<table>_latest` (with `latest_view = true`, the default) has one row per
//! (source_system_name, identifier) with every column of its last row by
//! the designated timestamp (by ingestion for reference data), NULLs
//! included: `argMax` over one tuple of all columns, which works on 18.16.
//! It is recreated when the table gains a column. Only category tables get
//! one.
//!
//! # Retention
//!
//! With `retention_days = N`, whole day partitions strictly older than
//! today (UTC) minus N days are dropped, from `system.parts`, at open and
//! then at most every `retention_check` during writes; today's partition is
//! never touched and every drop is logged. It applies to the sink's tables
//! in its database (those with `ingestion_time_realtime_store`); one-
//! partition reference tables are never dropped. TTL is not used: it differs
//! across versions, while `DROP PARTITION` works everywhere.
//!
//! # Errors
//!
//! A server that cannot be reached or does not answer within
//! `insert_timeout` is a retryable external error naming the URL (a
//! timed-out INSERT may have landed; the retry is harmless). A server
//! exception carries the server's message and the table, and is retryable
//! only for transient codes (too many parts, memory limit, timeouts). The
//! password travels in a request header; it is never logged, never in an
//! error, and a URL holding credentials is refused.
//!
//! # Throughput
//!
//! Rows are encoded as RowBinary straight from the Arrow buffers and sent
//! LZ4-compressed, one INSERT per table and schema per `write`. On 18.16
//! every INSERT makes a new part (~10 ms for a tick table on a plain disk),
//! so larger writes go faster (measured on a 2-core machine with the server
//! on it: 0.6-0.8M ticks/s with one 10k-row batch per write, ~1.4M/s with
//! 100k rows per write): use the sink's
//! `[batch]` table to give it 100k rows or a second's worth per write.

#![forbid(unsafe_code)]

mod config;
mod conn;
pub mod ddl;
mod handoff;
mod retention;
mod rowbinary;
mod sink;

pub use config::{ClickHouseOptions, Secret, SettingValue};
pub use sink::ClickHouseSink;

qdp_sdk::export_sink!(ClickHouseSink);
