//! Converting a source column to a category field's type, column-wise.
//!
//! Conversions never fail a whole batch: a value that does not convert
//! becomes null, and the caller compares null masks to find (and reject)
//! exactly those rows.

use crate::schema::LogicalType;
use arrow::array::{Array, ArrayRef, AsArray, StringArray, TimestampNanosecondArray};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Int64Type, TimeUnit};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use qdp_sdk::{PluginError, Result};
use serde::Deserialize;
use std::sync::Arc;

/// The unit of an integer epoch timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Epoch {
    /// Seconds.
    S,
    /// Milliseconds.
    Ms,
    /// Microseconds.
    Us,
    /// Nanoseconds.
    Ns,
}

impl Epoch {
    fn factor(self) -> i64 {
        match self {
            Epoch::S => 1_000_000_000,
            Epoch::Ms => 1_000_000,
            Epoch::Us => 1_000,
            Epoch::Ns => 1,
        }
    }
}

/// How to read timestamps from a source column.
#[derive(Debug, Clone, Default)]
pub struct TimeSpec {
    /// chrono format of text timestamps.
    pub format: Option<String>,
    /// Time zone of text timestamps without an offset (default UTC).
    pub timezone: Option<Tz>,
    /// Unit of integer timestamps (default nanoseconds).
    pub epoch: Option<Epoch>,
}

fn safe() -> CastOptions<'static> {
    CastOptions {
        safe: true,
        ..Default::default()
    }
}

/// Converts `src` to `ty`; unconvertible values become null.
pub fn convert(src: &ArrayRef, ty: LogicalType, time: &TimeSpec) -> Result<ArrayRef> {
    let target = ty.arrow();
    if src.data_type() == &target {
        return Ok(src.clone());
    }
    match ty {
        LogicalType::TimestampNsUtc => timestamps(src, time),
        _ => Ok(cast_with_options(src, &target, &safe())?),
    }
}

fn utc_ns(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(TimestampNanosecondArray::from_iter(values).with_timezone("UTC"))
}

fn timestamps(src: &ArrayRef, time: &TimeSpec) -> Result<ArrayRef> {
    match src.data_type() {
        DataType::Timestamp(_, _) => Ok(cast_with_options(
            src,
            &DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            &safe(),
        )?),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let text = cast_with_options(src, &DataType::Utf8, &safe())?;
            let text = text.as_string::<i32>();
            match (&time.format, &time.timezone) {
                (None, None) => Ok(cast_with_options(
                    &(Arc::new(text.clone()) as ArrayRef),
                    &DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                    &safe(),
                )?),
                _ => Ok(utc_ns(
                    text.iter()
                        .map(|v| v.and_then(|s| parse_text(s.trim(), time))),
                )),
            }
        }
        d if d.is_integer() => {
            let ints = cast_with_options(src, &DataType::Int64, &safe())?;
            let factor = time.epoch.unwrap_or(Epoch::Ns).factor();
            Ok(utc_ns(
                ints.as_primitive::<Int64Type>()
                    .iter()
                    .map(|v| v.and_then(|x| x.checked_mul(factor))),
            ))
        }
        other => Err(PluginError::config(format!(
            "cannot read a timestamp from a {other} column"
        ))),
    }
}

fn parse_text(s: &str, time: &TimeSpec) -> Option<i64> {
    let fmt = time.format.as_deref();
    if let Some(f) = fmt.filter(|f| f.contains("%z") || f.contains("%:z") || f.contains("%#z")) {
        return DateTime::parse_from_str(s, f).ok()?.timestamp_nanos_opt();
    }
    let local = match fmt {
        Some(f) => NaiveDateTime::parse_from_str(s, f).ok().or_else(|| {
            NaiveDate::parse_from_str(s, f)
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?,
        None => s.parse::<NaiveDateTime>().ok()?,
    };
    match time.timezone {
        // A local time that a DST change skipped does not exist: reject it; an
        // ambiguous one (the repeated hour) is read as the first occurrence.
        Some(tz) => tz
            .from_local_datetime(&local)
            .earliest()?
            .timestamp_nanos_opt(),
        None => local.and_utc().timestamp_nanos_opt(),
    }
}

/// A column of `n` copies of `value`, converted to `ty`.
pub fn constant(value: &str, ty: LogicalType, n: usize, time: &TimeSpec) -> Result<ArrayRef> {
    let text: ArrayRef = Arc::new(StringArray::from(vec![value; n]));
    convert(&text, ty, time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int64Array};

    #[test]
    fn numbers_from_text_fail_per_value() {
        let src: ArrayRef = Arc::new(StringArray::from(vec![
            Some("1.5"),
            Some("abc"),
            None,
            Some(".38705767703"),
        ]));
        let out = convert(&src, LogicalType::Float64, &TimeSpec::default()).unwrap();
        let out = out.as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(out.value(0), 1.5);
        assert!(out.is_null(1) && out.is_null(2));
        assert!((out.value(3) - 0.38705767703).abs() < 1e-12);
    }

    #[test]
    fn epoch_integers_scale_to_nanoseconds() {
        let src: ArrayRef = Arc::new(Int64Array::from(vec![1_700_000_000_123]));
        let t = TimeSpec {
            epoch: Some(Epoch::Ms),
            ..Default::default()
        };
        let out = convert(&src, LogicalType::TimestampNsUtc, &t).unwrap();
        let out = out.as_primitive::<arrow::datatypes::TimestampNanosecondType>();
        assert_eq!(out.value(0), 1_700_000_000_123_000_000);
    }

    #[test]
    fn new_york_times_convert_across_daylight_saving() {
        let t = TimeSpec {
            format: Some("%Y-%m-%d %H:%M:%S".into()),
            timezone: Some(chrono_tz::America::New_York),
            epoch: None,
        };
        let src: ArrayRef = Arc::new(StringArray::from(vec![
            "2026-01-14 10:30:00", // EST, UTC-5
            "2026-07-15 10:30:00", // EDT, UTC-4
            "2026-03-08 02:30:00", // skipped by the spring change
        ]));
        let out = convert(&src, LogicalType::TimestampNsUtc, &t).unwrap();
        let out = out.as_primitive::<arrow::datatypes::TimestampNanosecondType>();
        let utc = |s: &str| {
            s.parse::<DateTime<chrono::Utc>>()
                .unwrap()
                .timestamp_nanos_opt()
                .unwrap()
        };
        assert_eq!(out.value(0), utc("2026-01-14T15:30:00Z"));
        assert_eq!(out.value(1), utc("2026-07-15T14:30:00Z"));
        assert!(out.is_null(2));
    }
}
