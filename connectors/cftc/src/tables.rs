//! Arrow batches of the three row ports: `numeric_economic_data`,
//! `economic_data_releases` and `cftc_cot_unqualified`.

use crate::family::Family;
use crate::record::{Reject, Value};
use chrono::{DateTime, NaiveDate, Utc};
use qdp_sdk::arrow::array::{
    ArrayRef, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray,
};
use qdp_sdk::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use qdp_sdk::calendar::ReleaseCalendar;
use qdp_sdk::schema::registry;
use qdp_sdk::{PluginError, Result};
use std::sync::{Arc, OnceLock};

/// Category of the numbers.
pub const NUMERIC: &str = "numeric_economic_data";
/// Category of the release editions.
pub const RELEASES: &str = "economic_data_releases";
/// Category of what could not be loaded.
pub const UNQUALIFIED: &str = "cftc_cot_unqualified";

/// Who publishes.
pub const PUBLISHER: &str = "CFTC";

/// The columns of `cftc_cot_unqualified`, all text; only the reason is
/// never null.
const UNQUALIFIED_COLUMNS: [&str; 12] = [
    "source_system_name",
    "component_instance_name",
    "object_name",
    "report_family",
    "row_number",
    "cftc_contract_market_code",
    "report_date",
    "column_name",
    "column_value",
    "record",
    "ingestion_time",
    "unqualified_reason",
];

/// The schema of a category from the SDK's registry.
pub fn category_schema(name: &str) -> Result<SchemaRef> {
    registry()
        .get(name)
        .map(|s| s.arrow_schema())
        .ok_or_else(|| PluginError::internal(format!("the SDK has no `{name}` schema")))
}

/// The schema of `cftc_cot_unqualified`.
pub fn unqualified_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        Arc::new(Schema::new(
            UNQUALIFIED_COLUMNS
                .iter()
                .map(|c| Field::new(*c, DataType::Utf8, *c != "unqualified_reason"))
                .collect::<Vec<_>>(),
        ))
    })
    .clone()
}

/// What every row of one document shares.
pub struct Stamp<'a> {
    /// `source_system_name`.
    pub source_system: &'a str,
    /// `component_instance_name`.
    pub component: &'a str,
    /// The document's name (URL without secrets, or path).
    pub object_name: &'a str,
    /// Its family.
    pub family: Family,
    /// `ingestion_time`.
    pub now: DateTime<Utc>,
}

fn ns(t: DateTime<Utc>) -> Result<i64> {
    t.timestamp_nanos_opt()
        .ok_or_else(|| PluginError::internal(format!("{t} is out of the nanosecond range")))
}

/// The scheduled publication of the report of `date` (ADR 0002).
pub fn release_time(date: NaiveDate) -> DateTime<Utc> {
    ReleaseCalendar::CftcCot.release_time(date)
}

fn text(values: impl Iterator<Item = Option<String>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

fn times(values: Vec<i64>) -> ArrayRef {
    Arc::new(TimestampNanosecondArray::from(values).with_timezone("UTC"))
}

fn assemble(
    schema: SchemaRef,
    mut column: impl FnMut(&str) -> Result<ArrayRef>,
) -> Result<RecordBatch> {
    let cols = schema
        .fields()
        .iter()
        .map(|f| column(f.name()))
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), cols)
        .map_err(|e| PluginError::internal(format!("building a batch: {e}")))
}

/// `numeric_economic_data` rows.
pub fn numeric(stamp: &Stamp, values: &[Value]) -> Result<RecordBatch> {
    let n = values.len();
    let same = |s: &str| text(std::iter::repeat_n(Some(s.to_string()), n));
    let now = ns(stamp.now)?;
    assemble(category_schema(NUMERIC)?, |name| {
        Ok(match name {
            "source_system_name" => same(stamp.source_system),
            "publisher_code" => same(PUBLISHER),
            "release_code" => same(stamp.family.release_code()),
            "release_time" => times(
                values
                    .iter()
                    .map(|v| ns(release_time(v.report_date)))
                    .collect::<Result<_>>()?,
            ),
            "release_field" => text(
                values
                    .iter()
                    .map(|v| Some(format!("{}.{}", v.contract, v.field))),
            ),
            "release_field_value" => {
                Arc::new(values.iter().map(|v| v.value).collect::<Float64Array>())
            }
            "release_field_value_unit" => {
                text(values.iter().map(|v| Some(v.unit.text().to_string())))
            }
            "reference_period" => text(
                values
                    .iter()
                    .map(|v| Some(v.report_date.format("%Y-%m-%d").to_string())),
            ),
            "component_instance_name" => same(stamp.component),
            "ingestion_time" => times(vec![now; n]),
            other => {
                return Err(PluginError::internal(format!(
                    "numeric_economic_data has a column `{other}` this source does not fill"
                )));
            }
        })
    })
}

/// One `economic_data_releases` row per report date.
pub fn releases(stamp: &Stamp, dates: &[NaiveDate]) -> Result<RecordBatch> {
    let n = dates.len();
    let same = |s: &str| text(std::iter::repeat_n(Some(s.to_string()), n));
    let now = ns(stamp.now)?;
    assemble(category_schema(RELEASES)?, |name| {
        Ok(match name {
            "source_system_name" => same(stamp.source_system),
            "publisher_code" => same(PUBLISHER),
            "release_code" => same(stamp.family.release_code()),
            "release_frequency" => same("weekly"),
            "release_time" => times(
                dates
                    .iter()
                    .map(|d| ns(release_time(*d)))
                    .collect::<Result<_>>()?,
            ),
            "release_content" => text(dates.iter().map(|d| {
                Some(format!(
                    "CFTC Commitments of Traders, {} report: positions as of {}.",
                    stamp.family.title(),
                    d.format("%A %Y-%m-%d")
                ))
            })),
            "component_instance_name" => same(stamp.component),
            "ingestion_time" => times(vec![now; n]),
            other => {
                return Err(PluginError::internal(format!(
                    "economic_data_releases has a column `{other}` this source does not fill"
                )));
            }
        })
    })
}

/// `cftc_cot_unqualified` rows.
pub fn unqualified(stamp: &Stamp, rejects: &[Reject]) -> Result<RecordBatch> {
    let n = rejects.len();
    let same = |s: &str| text(std::iter::repeat_n(Some(s.to_string()), n));
    let pick = |f: fn(&Reject) -> Option<String>| text(rejects.iter().map(f));
    assemble(unqualified_schema(), |name| {
        Ok(match name {
            "source_system_name" => same(stamp.source_system),
            "component_instance_name" => same(stamp.component),
            "object_name" => same(stamp.object_name),
            "report_family" => same(stamp.family.name()),
            "row_number" => pick(|r| r.row_number.map(|n| n.to_string())),
            "cftc_contract_market_code" => pick(|r| r.contract.clone()),
            "report_date" => pick(|r| r.report_date.clone()),
            "column_name" => pick(|r| r.column.clone()),
            "column_value" => pick(|r| r.value.clone()),
            "record" => pick(|r| r.record.clone()),
            "ingestion_time" => same(&stamp.now.to_rfc3339()),
            "unqualified_reason" => pick(|r| Some(r.reason.clone())),
            other => {
                return Err(PluginError::internal(format!("unknown column `{other}`")));
            }
        })
    })
}
