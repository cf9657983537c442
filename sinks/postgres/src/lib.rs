//! `postgres`: the qdp sink plugin for the Postgres warehouse of the batch
//! lane (ADR 0002): bronze (documents as received, internal datasets as
//! text), silver (category rows upserted on their unique key, rejects with
//! their reasons) and gold (views from an operator's SQL folder).
//!
//! ```toml
//! [sinks.warehouse]
//! type = "postgres"
//! inputs = ["eia.raw_object", "eia.numeric_economic_data",
//!           "eia.economic_data_releases", "eia.unqualified"]
//! url = "postgres://qdp:${PGPASSWORD}@db.internal:5432/warehouse"
//! gold_sql_dir = "examples/warehouse"   # optional
//! ```
//!
//! # Tables
//!
//! | batch category | table | write |
//! |---|---|---|
//! | a category schema (`numeric_economic_data`, ...) | `silver.<category>` | upsert on the schema's `unique_key`; a value change updates, a replay changes nothing |
//! | `<something>_unqualified` | `silver.<something>_unqualified` | all text, insert once per (`_origin`, `_producer`, `_seq`, `_row_index`) |
//! | `raw_object` | `bronze.raw_object` | insert once per `sha256` |
//! | `bronze_<dataset>` | `bronze.<dataset>` | all text, insert once per `_row_id`; new columns are added |
//!
//! Category tables are generated from the SDK's schemas: utf8 → `text`,
//! float64 → `double precision`, int64 → `bigint`, timestamp_ns_utc →
//! `timestamptz` (**microseconds**: the nanosecond digits are truncated),
//! NOT NULL as declared, a unique index on the key (`NULLS NOT DISTINCT`,
//! so Postgres 15 or later), plus `source_table_name` (`<origin>.<category>`),
//! `platform_worker_name` and `loaded_at`. Column comments carry the glossary.
//!
//! # Migrations
//!
//! At open, under an advisory lock and in one transaction: the embedded
//! files of `migrations/` and one generated step per category table
//! (`category:<name>:v<version>`), each recorded in `ops.schema_migrations`
//! with its checksum. A recorded step whose checksum differs is an error.
//!
//! # Transactions and errors
//!
//! One `write` call is one transaction: every batch lands, or none does
//! (a NOT NULL violation in the last batch rolls back the first). Lost
//! connections, deadlocks and a server that is down are retryable external
//! errors naming `host:port`; bad rows (SQLSTATE classes 22 and 23) are
//! config errors. The password is never logged nor part of an error: URLs
//! are shown as `postgres://user:***@host:port/db`.
//!
//! Connections are plain TCP (or a Unix socket): `sslmode=require` is
//! refused at config time. Use a private network or a local TLS proxy.
//!
//! # Gold
//!
//! With `gold_sql_dir`, every `*.sql` file of the folder runs in name order
//! at open and in every write that inserted or updated a silver row, inside
//! that write's transaction under an advisory lock. `examples/warehouse/`
//! holds the EIA views (`gold.dim_date`, `gold.dim_release`,
//! `gold.fact_economic_release`, `gold.us_crude_balance_weekly`,
//! `gold.eia_source_disagreement`).
//!
//! # Data-quality gates
//!
//! Every write is one load, measured per category (rows in, qualified,
//! unqualified, out, nulls per nullable field) and recorded in
//! `ops.load_quality`; configured gold views are measured after each gold
//! refresh into `ops.gold_quality`. Thresholds under `quality` (see
//! [`quality::QualityOptions`]) fail a load that crosses them: nothing of it
//! is published, the failure is recorded once per distinct load, one alert
//! is POSTed to `quality.alert_webhook`, and the write returns a config
//! error, so the runtime keeps the batches unacknowledged.
//!
//! ```toml
//! [sinks.warehouse.quality]
//! max_unqualified_ratio = 0.05
//! max_null_ratio = { reference_period = 0.0 }
//! [sinks.warehouse.quality.gold."gold.fact_economic_release"]
//! max_null_ratio = { unit_amount = 0.0 }
//! ```
//!
//! # Release loads
//!
//! `ops.release_load` keeps, per (source, release_code, release_time), when
//! the edition's rows were first ingested and loaded; later loads leave it.
//! (`ops.release_sla`, with the expected time, polls and status, is the
//! runtime scheduler's table.)

#![forbid(unsafe_code)]

pub mod config;
pub mod ddl;
mod gold;
mod ident;
pub mod migrate;
mod pgerror;
pub mod quality;
mod rawobj;
pub mod silver;
mod sink;
mod stage;
pub mod textual;
mod values;

pub use config::{ConnUrl, PostgresOptions};
pub use silver::UpsertCounts;
pub use sink::{PostgresSink, WriteReport};
pub use textual::AppendCounts;

qdp_sdk::export_sink!(PostgresSink);
