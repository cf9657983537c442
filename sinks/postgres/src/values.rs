//! Arrow columns as typed value vectors for binary COPY.
//!
//! Timestamps: Arrow holds nanoseconds, Postgres `timestamptz` holds
//! microseconds, so the last three digits are dropped (truncated toward
//! the earlier microsecond). Two rows whose key timestamps differ only
//! below the microsecond fold into one row in a table keyed on them.

use chrono::{DateTime, Utc};
use qdp_sdk::arrow::array::{
    Array, ArrayRef, Float64Array, Int64Array, StringArray, TimestampNanosecondArray,
};
use qdp_sdk::arrow::compute::{CastOptions, cast_with_options};
use qdp_sdk::arrow::datatypes::{DataType, TimeUnit};
use qdp_sdk::{PluginError, Result};
use tokio_postgres::types::{ToSql, Type};

/// One column's values, typed for Postgres.
pub enum Col {
    /// `text`.
    Text(Vec<Option<String>>),
    /// `double precision`.
    F64(Vec<Option<f64>>),
    /// `bigint`.
    I64(Vec<Option<i64>>),
    /// `timestamptz`.
    Ts(Vec<Option<DateTime<Utc>>>),
    /// `bytea`.
    Bytes(Vec<Option<Vec<u8>>>),
}

/// Postgres type names of the logical types.
pub fn pg_type_name(t: qdp_sdk::schema::LogicalType) -> &'static str {
    use qdp_sdk::schema::LogicalType as L;
    match t {
        L::Utf8 => "text",
        L::Float64 => "double precision",
        L::Int64 => "bigint",
        L::TimestampNsUtc => "timestamptz",
    }
}

impl Col {
    /// The wire type.
    pub fn pg_type(&self) -> Type {
        match self {
            Col::Text(_) => Type::TEXT,
            Col::F64(_) => Type::FLOAT8,
            Col::I64(_) => Type::INT8,
            Col::Ts(_) => Type::TIMESTAMPTZ,
            Col::Bytes(_) => Type::BYTEA,
        }
    }

    /// The value of row `i`.
    pub fn value(&self, i: usize) -> &(dyn ToSql + Sync) {
        match self {
            Col::Text(v) => &v[i],
            Col::F64(v) => &v[i],
            Col::I64(v) => &v[i],
            Col::Ts(v) => &v[i],
            Col::Bytes(v) => &v[i],
        }
    }

    /// The same value repeated `n` times, as text.
    pub fn repeat_text(text: &str, n: usize) -> Col {
        Col::Text(vec![Some(text.to_string()); n])
    }

    /// `0..n` plus `offset`, as bigint.
    pub fn counter(offset: i64, n: usize) -> Col {
        Col::I64((0..n as i64).map(|i| Some(offset + i)).collect())
    }

    /// Whether row `i` is null.
    pub fn is_null(&self, i: usize) -> bool {
        match self {
            Col::Text(v) => v[i].is_none(),
            Col::F64(v) => v[i].is_none(),
            Col::I64(v) => v[i].is_none(),
            Col::Ts(v) => v[i].is_none(),
            Col::Bytes(v) => v[i].is_none(),
        }
    }
}

fn cast_to(a: &ArrayRef, to: &DataType, name: &str) -> Result<ArrayRef> {
    // `safe: false`: a value that does not convert is an error, never a null.
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(a, to, &options).map_err(|e| {
        PluginError::config(format!(
            "column `{name}` ({}) cannot be read as {to}: {e}",
            a.data_type()
        ))
    })
}

fn downcast<'a, T: 'static>(a: &'a ArrayRef, name: &str) -> Result<&'a T> {
    a.as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| PluginError::internal(format!("column `{name}`: unexpected array type")))
}

/// Any column as text (Arrow's cast decides the text form of numbers and times).
pub fn text(a: &ArrayRef, name: &str) -> Result<Col> {
    let c = cast_to(a, &DataType::Utf8, name)?;
    let s = downcast::<StringArray>(&c, name)?;
    Ok(Col::Text(s.iter().map(|v| v.map(str::to_string)).collect()))
}

/// A column as the Postgres type of `t`.
pub fn typed(a: &ArrayRef, t: qdp_sdk::schema::LogicalType, name: &str) -> Result<Col> {
    use qdp_sdk::schema::LogicalType as L;
    match t {
        L::Utf8 => text(a, name),
        L::Float64 => {
            let c = cast_to(a, &DataType::Float64, name)?;
            Ok(Col::F64(
                downcast::<Float64Array>(&c, name)?.iter().collect(),
            ))
        }
        L::Int64 => {
            let c = cast_to(a, &DataType::Int64, name)?;
            Ok(Col::I64(downcast::<Int64Array>(&c, name)?.iter().collect()))
        }
        L::TimestampNsUtc => {
            let to = DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()));
            let c = cast_to(a, &to, name)?;
            let ns = downcast::<TimestampNanosecondArray>(&c, name)?;
            Ok(Col::Ts(
                ns.iter()
                    .map(|v| v.map(DateTime::from_timestamp_nanos))
                    .collect(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qdp_sdk::arrow::array::{Int32Array, TimestampMillisecondArray};
    use qdp_sdk::schema::LogicalType;
    use std::sync::Arc;

    #[test]
    fn numbers_and_times_convert_and_nanoseconds_truncate() {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![Some(7), None]));
        let Col::F64(v) = typed(&a, LogicalType::Float64, "x").unwrap_or_else(|e| panic!("{e}"))
        else {
            panic!("not f64")
        };
        assert_eq!(v, vec![Some(7.0), None]);
        let Col::Text(t) = text(&a, "x").unwrap_or_else(|e| panic!("{e}")) else {
            panic!("not text")
        };
        assert_eq!(t, vec![Some("7".to_string()), None]);
        let ts: ArrayRef =
            Arc::new(TimestampMillisecondArray::from(vec![1_000]).with_timezone("UTC"));
        let Col::Ts(v) =
            typed(&ts, LogicalType::TimestampNsUtc, "t").unwrap_or_else(|e| panic!("{e}"))
        else {
            panic!("not ts")
        };
        assert_eq!(v[0].map(|d| d.timestamp()), Some(1));
        let s: ArrayRef = Arc::new(StringArray::from(vec!["abc"]));
        assert!(typed(&s, LogicalType::Float64, "v").is_err());
    }
}
