//! Category rows (`numeric_economic_data`, `economic_data_releases`) and
//! their unqualified rows, turned into Arrow batches of the registered
//! category schemas.

use qdp_sdk::arrow::array::{
    ArrayRef, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray,
};
use qdp_sdk::arrow::datatypes::SchemaRef;
use qdp_sdk::schema::{registry, unqualified_category};
use qdp_sdk::{PluginError, Result};
use std::sync::Arc;

/// Category of the numbers.
pub const NUMERIC: &str = "numeric_economic_data";
/// Category of the release editions.
pub const RELEASES: &str = "economic_data_releases";

/// Category of the numbers that could not be read.
pub fn unqualified() -> String {
    unqualified_category(NUMERIC)
}

/// Arrow schema of a registered category.
pub fn schema(category: &str) -> Result<SchemaRef> {
    registry()
        .get(category)
        .map(|s| s.arrow_schema())
        .ok_or_else(|| PluginError::internal(format!("category `{category}` is not registered")))
}

/// Arrow schema of the numbers that could not be read.
pub fn unqualified_schema() -> Result<SchemaRef> {
    registry()
        .get(NUMERIC)
        .map(|s| s.unqualified_schema())
        .ok_or_else(|| PluginError::internal(format!("category `{NUMERIC}` is not registered")))
}

/// What every row of one batch shares.
#[derive(Debug, Clone)]
pub struct Common {
    /// `source_system_name`.
    pub source_system: String,
    /// `component_instance_name`.
    pub component: String,
    /// `ingestion_time`, ns.
    pub ingestion_ns: i64,
}

/// One published number.
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    /// `EIA`.
    pub publisher: String,
    /// e.g. `EIA-WPSR`.
    pub release_code: String,
    /// Scheduled publication time of the period, ns.
    pub release_time_ns: i64,
    /// Series id or line slug.
    pub release_field: String,
    /// The value as published.
    pub value: f64,
    /// `<amount>_<unit>`.
    pub unit: String,
    /// The period as published.
    pub reference_period: String,
}

/// A number that could not be read, every field as text, with the reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reject {
    /// `publisher_code`.
    pub publisher: Option<String>,
    /// `release_code`.
    pub release_code: Option<String>,
    /// `release_time` (RFC 3339) when it could be worked out.
    pub release_time: Option<String>,
    /// `release_field`.
    pub release_field: Option<String>,
    /// The value text as published.
    pub value: Option<String>,
    /// The unit as published.
    pub unit: Option<String>,
    /// The period as published.
    pub reference_period: Option<String>,
    /// Why it is not a row.
    pub reason: String,
}

/// One edition of a release.
#[derive(Debug, Clone, PartialEq)]
pub struct Edition {
    /// `EIA`.
    pub publisher: String,
    /// e.g. `EIA-WPSR`.
    pub release_code: String,
    /// `weekly`, `monthly`, ...
    pub frequency: String,
    /// Publication time of the edition, ns.
    pub release_time_ns: Option<i64>,
    /// A sentence naming the period.
    pub content: String,
}

fn text<'a>(it: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(it.collect::<StringArray>())
}

fn times(it: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(
        it.collect::<TimestampNanosecondArray>()
            .with_timezone("UTC"),
    )
}

fn build(schema: SchemaRef, column: impl Fn(&str) -> Option<ArrayRef>) -> Result<RecordBatch> {
    let mut cols = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        cols.push(column(f.name()).ok_or_else(|| {
            PluginError::internal(format!("no column `{}` for the schema", f.name()))
        })?);
    }
    RecordBatch::try_new(schema, cols).map_err(|e| PluginError::internal(format!("batch: {e}")))
}

/// A `numeric_economic_data` batch.
pub fn numbers(c: &Common, rows: &[Number]) -> Result<RecordBatch> {
    let n = rows.len();
    let same = |v: &str| text(std::iter::repeat_n(Some(v), n));
    build(schema(NUMERIC)?, |name| {
        Some(match name {
            "source_system_name" => same(&c.source_system),
            "component_instance_name" => same(&c.component),
            "ingestion_time" => times(std::iter::repeat_n(Some(c.ingestion_ns), n)),
            "publisher_code" => text(rows.iter().map(|r| Some(r.publisher.as_str()))),
            "release_code" => text(rows.iter().map(|r| Some(r.release_code.as_str()))),
            "release_time" => times(rows.iter().map(|r| Some(r.release_time_ns))),
            "release_field" => text(rows.iter().map(|r| Some(r.release_field.as_str()))),
            "release_field_value" => {
                Arc::new(rows.iter().map(|r| Some(r.value)).collect::<Float64Array>())
            }
            "release_field_value_unit" => text(rows.iter().map(|r| Some(r.unit.as_str()))),
            "reference_period" => text(rows.iter().map(|r| Some(r.reference_period.as_str()))),
            _ => return None,
        })
    })
}

/// A `numeric_economic_data_unqualified` batch.
pub fn rejects(c: &Common, rows: &[Reject]) -> Result<RecordBatch> {
    let n = rows.len();
    let same = |v: &str| text(std::iter::repeat_n(Some(v), n));
    let ingestion = chrono::DateTime::from_timestamp_nanos(c.ingestion_ns).to_rfc3339();
    build(unqualified_schema()?, |name| {
        Some(match name {
            "source_system_name" => same(&c.source_system),
            "component_instance_name" => same(&c.component),
            "ingestion_time" => same(&ingestion),
            "publisher_code" => text(rows.iter().map(|r| r.publisher.as_deref())),
            "release_code" => text(rows.iter().map(|r| r.release_code.as_deref())),
            "release_time" => text(rows.iter().map(|r| r.release_time.as_deref())),
            "release_field" => text(rows.iter().map(|r| r.release_field.as_deref())),
            "release_field_value" => text(rows.iter().map(|r| r.value.as_deref())),
            "release_field_value_unit" => text(rows.iter().map(|r| r.unit.as_deref())),
            "reference_period" => text(rows.iter().map(|r| r.reference_period.as_deref())),
            "unqualified_reason" => text(rows.iter().map(|r| Some(r.reason.as_str()))),
            _ => return None,
        })
    })
}

/// An `economic_data_releases` batch.
pub fn editions(c: &Common, rows: &[Edition]) -> Result<RecordBatch> {
    let n = rows.len();
    let same = |v: &str| text(std::iter::repeat_n(Some(v), n));
    build(schema(RELEASES)?, |name| {
        Some(match name {
            "source_system_name" => same(&c.source_system),
            "component_instance_name" => same(&c.component),
            "ingestion_time" => times(std::iter::repeat_n(Some(c.ingestion_ns), n)),
            "publisher_code" => text(rows.iter().map(|r| Some(r.publisher.as_str()))),
            "release_code" => text(rows.iter().map(|r| Some(r.release_code.as_str()))),
            "release_frequency" => text(rows.iter().map(|r| Some(r.frequency.as_str()))),
            "release_time" => times(rows.iter().map(|r| r.release_time_ns)),
            "release_content" => text(rows.iter().map(|r| Some(r.content.as_str()))),
            _ => return None,
        })
    })
}

/// The `release_frequency` domain value of an EIA frequency.
pub fn frequency(eia: &str) -> &'static str {
    match eia.to_ascii_lowercase().as_str() {
        "daily" => "daily",
        "weekly" | "four-week-average" => "weekly",
        "monthly" => "monthly",
        "quarterly" => "quarterly",
        "annual" => "annual",
        _ => "irregular",
    }
}
