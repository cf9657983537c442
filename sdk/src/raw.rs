//! Raw objects: bytes exactly as a batch source received them.
//!
//! Extractors (EIA, CFTC, file drops, ...) emit the original bytes of every
//! document they read on a `raw_object` port, next to the category rows they
//! parsed from it. The lake sink stores them, immutable, at
//! [`lake_path`]; the warehouse keeps them as bronze. Any later parser fix can
//! then be replayed from the lake without asking the publisher again.
//!
//! The schema is not a category schema (it has no designated timestamp in the
//! market-data sense), so it lives here in code rather than in `schemas/`.

use crate::error::{PluginError, Result};
use arrow::array::{
    Array, ArrayRef, LargeBinaryArray, RecordBatch, StringArray, TimestampNanosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};

/// Category name of raw-object batches.
pub const RAW_OBJECT: &str = "raw_object";

/// The Arrow schema of `raw_object` batches.
pub fn raw_object_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let ts = DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()));
            Arc::new(Schema::new(vec![
                Field::new("source_system_name", DataType::Utf8, false),
                Field::new("object_name", DataType::Utf8, false),
                Field::new("extension", DataType::Utf8, false),
                Field::new("sha256", DataType::Utf8, false),
                Field::new("received_time", ts, false),
                Field::new("content", DataType::LargeBinary, false),
            ]))
        })
        .clone()
}

/// One document as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawObject {
    /// Source system, e.g. `eia_api_v2`.
    pub source_system: String,
    /// Where it came from: the URL without secrets, or the file name.
    pub object_name: String,
    /// File extension without the dot (`json`, `csv`, `zip`, `txt`).
    pub extension: String,
    /// When it was received, nanoseconds since the epoch, UTC.
    pub received_time_ns: i64,
    /// The bytes, untouched.
    pub content: Vec<u8>,
}

impl RawObject {
    /// Lower-case hex SHA-256 of the content.
    pub fn sha256_hex(&self) -> String {
        sha256_hex(&self.content)
    }

    /// Where the lake keeps this object.
    pub fn lake_path(&self) -> String {
        lake_path(
            &self.source_system,
            self.received_time_ns,
            &self.sha256_hex(),
            &self.extension,
        )
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// `<source>/<yyyy>/<mm>/<dd>/<sha256>.<ext>`, the date being the UTC day
/// the object was received. Deterministic, so a replay rewrites nothing new.
pub fn lake_path(
    source_system: &str,
    received_time_ns: i64,
    sha256: &str,
    extension: &str,
) -> String {
    let secs = received_time_ns.div_euclid(1_000_000_000);
    let day = civil_from_days(secs.div_euclid(86_400));
    let ext = if extension.is_empty() {
        "bin"
    } else {
        extension
    };
    format!(
        "{source_system}/{:04}/{:02}/{:02}/{sha256}.{ext}",
        day.0, day.1, day.2
    )
}

/// (year, month, day) of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Builds one `raw_object` batch.
pub fn to_batch(objects: &[RawObject]) -> Result<RecordBatch> {
    let strings = |f: &dyn Fn(&RawObject) -> String| -> ArrayRef {
        Arc::new(objects.iter().map(|o| Some(f(o))).collect::<StringArray>())
    };
    let columns: Vec<ArrayRef> = vec![
        strings(&|o| o.source_system.clone()),
        strings(&|o| o.object_name.clone()),
        strings(&|o| o.extension.clone()),
        strings(&|o| o.sha256_hex()),
        Arc::new(
            TimestampNanosecondArray::from(
                objects
                    .iter()
                    .map(|o| o.received_time_ns)
                    .collect::<Vec<_>>(),
            )
            .with_timezone("UTC"),
        ),
        Arc::new(
            objects
                .iter()
                .map(|o| Some(o.content.as_slice()))
                .collect::<LargeBinaryArray>(),
        ),
    ];
    RecordBatch::try_new(raw_object_schema(), columns)
        .map_err(|e| PluginError::internal(format!("raw_object batch: {e}")))
}

/// Reads a `raw_object` batch back, checking the stored hash of every row.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<RawObject>> {
    let col = |name: &str| {
        batch.column_by_name(name).ok_or_else(|| {
            PluginError::internal(format!("raw_object batch has no `{name}` column"))
        })
    };
    let text = |name: &str| -> Result<StringArray> {
        col(name)?
            .as_any()
            .downcast_ref::<StringArray>()
            .cloned()
            .ok_or_else(|| PluginError::internal(format!("`{name}` is not utf8")))
    };
    let source = text("source_system_name")?;
    let name = text("object_name")?;
    let ext = text("extension")?;
    let sha = text("sha256")?;
    let time = col("received_time")?
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .cloned()
        .ok_or_else(|| PluginError::internal("`received_time` is not timestamp(ns)"))?;
    let content = col("content")?
        .as_any()
        .downcast_ref::<LargeBinaryArray>()
        .cloned()
        .ok_or_else(|| PluginError::internal("`content` is not large_binary"))?;
    let mut out = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let object = RawObject {
            source_system: source.value(i).to_string(),
            object_name: name.value(i).to_string(),
            extension: ext.value(i).to_string(),
            received_time_ns: time.value(i),
            content: content.value(i).to_vec(),
        };
        if content.is_null(i) || object.sha256_hex() != sha.value(i) {
            return Err(PluginError::internal(format!(
                "raw object `{}`: content does not match its sha256 {}",
                object.object_name,
                sha.value(i)
            )));
        }
        out.push(object);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_and_names_by_day_and_hash() {
        let o = RawObject {
            source_system: "eia_wpsr_csv".into(),
            object_name: "https://ir.eia.gov/wpsr/table1.csv".into(),
            extension: "csv".into(),
            // 2026-05-06T14:30:00Z
            received_time_ns: 1_778_077_800_000_000_000,
            content: b"abc".to_vec(),
        };
        assert_eq!(
            o.lake_path(),
            "eia_wpsr_csv/2026/05/06/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.csv"
        );
        let batch = to_batch(std::slice::from_ref(&o)).unwrap();
        assert_eq!(from_batch(&batch).unwrap(), vec![o]);
    }

    #[test]
    fn days_before_1970_and_leap_days() {
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
