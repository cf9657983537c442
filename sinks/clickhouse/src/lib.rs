//! `clickhouse`: a qdp sink plugin for the realtime store.

#![forbid(unsafe_code)]

mod config;
mod conn;
pub mod ddl;
mod retention;
mod rowbinary;
mod sink;

pub use config::{ClickHouseOptions, Secret, SettingValue};
pub use sink::ClickHouseSink;

qdp_sdk::export_sink!(ClickHouseSink);
