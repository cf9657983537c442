//! RowBinary straight from Arrow arrays.
//!
//! RowBinary is row-major and untyped on the wire, so each column is
//! prepared once per batch (its values buffer, its nulls, how the table
//! stores it) and then rows are written by copying fixed-width values
//! byte for byte from Arrow's little-endian buffers. Every ClickHouse
//! version from 18.16 reads it.

use crate::ddl::{Kind, kind};
use qdp_sdk::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, LargeBinaryArray, LargeStringArray,
    StringArray,
};
use qdp_sdk::arrow::buffer::NullBuffer;
use qdp_sdk::arrow::compute::cast;
use qdp_sdk::arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimeUnit,
    TimestampNanosecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};

#[cfg(target_endian = "big")]
compile_error!("RowBinary is little-endian; values are copied from Arrow's native-endian buffers");

/// How a table stores one column, as read from `system.columns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The type without `Nullable(...)`/`LowCardinality(...)`.
    pub base: String,
    /// Nullable: each value carries a null flag byte.
    pub nullable: bool,
    /// In the sorting key: cannot be Nullable, so a null is written as the
    /// type's default value ('' or 0).
    pub key: bool,
}

impl Target {
    /// From a ClickHouse type string such as `Nullable(String)`.
    pub fn parse(ty: &str, key: bool) -> Target {
        let mut t = ty.trim();
        let mut nullable = false;
        loop {
            if let Some(inner) = t
                .strip_prefix("LowCardinality(")
                .and_then(|r| r.strip_suffix(')'))
            {
                t = inner;
            } else if let Some(inner) = t
                .strip_prefix("Nullable(")
                .and_then(|r| r.strip_suffix(')'))
            {
                t = inner;
                nullable = true;
            } else {
                break;
            }
        }
        Target {
            base: t.to_string(),
            nullable,
            key,
        }
    }
}

enum Values<'a> {
    /// Fixed-width little-endian values, `width` bytes each.
    Fixed {
        bytes: &'a [u8],
        width: usize,
    },
    Bool(&'a BooleanArray),
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    Binary(&'a BinaryArray),
    LargeBinary(&'a LargeBinaryArray),
}

/// One column ready to write.
pub struct Column<'a> {
    values: Values<'a>,
    nulls: Option<&'a NullBuffer>,
    nullable: bool,
}

/// A column's data converted where its Arrow layout is not written as is
/// (other timestamp units, text forms); kept alive while encoding.
pub fn normalize(array: &ArrayRef) -> Result<ArrayRef, String> {
    let to = match array.data_type() {
        DataType::Timestamp(TimeUnit::Nanosecond, _) => return Ok(array.clone()),
        DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Nanosecond, tz.clone()),
        dt => match kind(dt) {
            Kind::Text => DataType::Utf8,
            _ => return Ok(array.clone()),
        },
    };
    cast(array, &to).map_err(|e| format!("cannot convert {} to {to}: {e}", array.data_type()))
}

/// The values buffer of a fixed-width array, as bytes.
fn fixed(array: &dyn Array, width: usize) -> Option<Values<'_>> {
    macro_rules! raw {
        ($($dt:pat => $t:ty),* $(,)?) => {
            match array.data_type() {
                $($dt => array.as_primitive::<$t>().values().inner().as_slice(),)*
                _ => return None,
            }
        };
    }
    let bytes: &[u8] = raw! {
        DataType::Int8 => Int8Type,
        DataType::Int16 => Int16Type,
        DataType::Int32 => Int32Type,
        DataType::Int64 => Int64Type,
        DataType::UInt8 => UInt8Type,
        DataType::UInt16 => UInt16Type,
        DataType::UInt32 => UInt32Type,
        DataType::UInt64 => UInt64Type,
        DataType::Float32 => Float32Type,
        DataType::Float64 => Float64Type,
        DataType::Timestamp(TimeUnit::Nanosecond, _) => TimestampNanosecondType,
    };
    Some(Values::Fixed { bytes, width })
}

impl<'a> Column<'a> {
    /// Prepares `array` (already [`normalize`]d) for a table column stored as
    /// `target`; refuses a type the column cannot hold, and nulls in a column
    /// that cannot store them (other than key columns).
    pub fn new(array: &'a dyn Array, target: &Target) -> Result<Column<'a>, String> {
        let dt = array.data_type();
        let k = kind(dt);
        let base = target.base.as_str();
        let fits = match k {
            Kind::Str | Kind::Text => base == "String",
            Kind::Bool => base == "UInt8" || base == "Bool",
            Kind::Number(t) => base == t,
            Kind::Timestamp => {
                base == "UInt64" || base == "Int64" || base.starts_with("DateTime64(9")
            }
        };
        if !fits {
            return Err(format!(
                "the column is {} in the table, the batch has {dt}",
                if target.nullable {
                    format!("Nullable({base})")
                } else {
                    base.to_string()
                }
            ));
        }
        if !target.nullable && !target.key && array.null_count() > 0 {
            return Err(format!(
                "{} null value(s), but the table column is not Nullable",
                array.null_count()
            ));
        }
        if k == Kind::Timestamp && base == "UInt64" {
            let ts = array.as_primitive::<TimestampNanosecondType>();
            if ts.iter().flatten().any(|v| v < 0) {
                return Err(
                    "a timestamp before 1970 cannot be stored as UInt64 nanoseconds".to_string(),
                );
            }
        }
        let values = match dt {
            DataType::Utf8 => Values::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => Values::LargeUtf8(array.as_string::<i64>()),
            DataType::Binary => Values::Binary(array.as_binary::<i32>()),
            DataType::LargeBinary => Values::LargeBinary(array.as_binary::<i64>()),
            DataType::Boolean => Values::Bool(array.as_boolean()),
            dt => dt
                .primitive_width()
                .and_then(|w| fixed(array, w))
                .ok_or_else(|| format!("{dt} is not supported"))?,
        };
        Ok(Column {
            values,
            nulls: array.nulls(),
            nullable: target.nullable,
        })
    }

    /// Upper bound of the bytes this column adds for `rows` rows.
    pub fn size_hint(&self, rows: usize) -> usize {
        let flag = usize::from(self.nullable) * rows;
        flag + match &self.values {
            Values::Fixed { width, .. } => width * rows,
            Values::Bool(_) => rows,
            Values::Utf8(a) => a.value_data().len() + rows * 2,
            Values::LargeUtf8(a) => a.value_data().len() + rows * 2,
            Values::Binary(a) => a.value_data().len() + rows * 2,
            Values::LargeBinary(a) => a.value_data().len() + rows * 2,
        }
    }

    /// Appends row `i`.
    #[inline]
    pub fn write(&self, i: usize, out: &mut Vec<u8>) {
        let null = self.nulls.is_some_and(|n| n.is_null(i));
        if self.nullable {
            out.push(u8::from(null));
            if null {
                return;
            }
        }
        match &self.values {
            Values::Fixed { bytes, width } => {
                if null {
                    out.resize(out.len() + width, 0);
                } else {
                    out.extend_from_slice(&bytes[i * width..(i + 1) * width]);
                }
            }
            Values::Bool(a) => out.push(u8::from(!null && a.value(i))),
            Values::Utf8(a) => string(if null { b"" } else { a.value(i).as_bytes() }, out),
            Values::LargeUtf8(a) => string(if null { b"" } else { a.value(i).as_bytes() }, out),
            Values::Binary(a) => string(if null { b"" } else { a.value(i) }, out),
            Values::LargeBinary(a) => string(if null { b"" } else { a.value(i) }, out),
        }
    }
}

/// A RowBinary `String`: LEB128 length, then the bytes.
#[inline]
pub fn string(bytes: &[u8], out: &mut Vec<u8>) {
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// LEB128, as RowBinary encodes lengths.
#[inline]
pub fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use qdp_sdk::arrow::array::{Float64Array, TimestampNanosecondArray};
    use std::sync::Arc;

    #[test]
    fn types_parse() {
        assert_eq!(
            Target::parse("Nullable(String)", false),
            Target {
                base: "String".into(),
                nullable: true,
                key: false
            }
        );
        assert_eq!(
            Target::parse("LowCardinality(Nullable(String))", false).base,
            "String"
        );
        assert_eq!(
            Target::parse("DateTime64(9, 'UTC')", true).base,
            "DateTime64(9, 'UTC')"
        );
    }

    #[test]
    fn values_are_encoded_as_rowbinary() {
        let s = StringArray::from(vec![Some("CL"), None]);
        let f = Float64Array::from(vec![Some(1.5), None]);
        let col_s = Column::new(&s, &Target::parse("Nullable(String)", false))
            .unwrap_or_else(|e| panic!("{e}"));
        let col_f = Column::new(&f, &Target::parse("Nullable(Float64)", false))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        for i in 0..2 {
            col_s.write(i, &mut out);
            col_f.write(i, &mut out);
        }
        let mut want = vec![0, 2, b'C', b'L', 0];
        want.extend_from_slice(&1.5f64.to_le_bytes());
        want.extend_from_slice(&[1, 1]);
        assert_eq!(out, want);
    }

    #[test]
    fn nulls_in_keys_become_defaults_elsewhere_they_are_refused() {
        let s = StringArray::from(vec![None::<&str>]);
        let key = Column::new(&s, &Target::parse("String", true)).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        key.write(0, &mut out);
        assert_eq!(out, [0]);
        assert!(Column::new(&s, &Target::parse("String", false)).is_err());
    }

    #[test]
    fn timestamps_and_mismatches() {
        let ts: ArrayRef = Arc::new(
            TimestampNanosecondArray::from(vec![1_700_000_000_123_456_789]).with_timezone("UTC"),
        );
        let c = Column::new(ts.as_ref(), &Target::parse("UInt64", true))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        c.write(0, &mut out);
        assert_eq!(out, 1_700_000_000_123_456_789i64.to_le_bytes());
        assert!(Column::new(ts.as_ref(), &Target::parse("String", false)).is_err());
        let old: ArrayRef = Arc::new(TimestampNanosecondArray::from(vec![-1]));
        assert!(Column::new(old.as_ref(), &Target::parse("UInt64", false)).is_err());
        assert!(Column::new(old.as_ref(), &Target::parse("DateTime64(9, 'UTC')", false)).is_ok());
    }

    #[test]
    fn varints() {
        let mut out = Vec::new();
        varint(300, &mut out);
        assert_eq!(out, [0xAC, 0x02]);
    }
}
