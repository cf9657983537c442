//! Whether a batch falls in one partition, found with a few vectorised
//! min/max kernels. Almost every batch of a feed does (one source system,
//! one day), and it can then be written whole: the crate's splitter turns
//! every row's partition values into boxed literals and hashes them, which
//! costs more than encoding the rows.

use iceberg::spec::{PartitionSpec, Schema, Transform};
use qdp_sdk::arrow::array::{Array, AsArray, RecordBatch};
use qdp_sdk::arrow::compute::{max, max_string, min, min_string};
use qdp_sdk::arrow::datatypes::{DataType, TimeUnit, TimestampNanosecondType};

const DAY_NS: i64 = 86_400_000_000_000;

/// True when every row of `batch` (in the table's schema) has the same
/// partition values under `spec`; false when they differ or when a field
/// is of a kind this check does not know (the caller then splits).
pub fn single(batch: &RecordBatch, spec: &PartitionSpec, schema: &Schema) -> bool {
    if batch.num_rows() == 0 {
        return false;
    }
    spec.fields().iter().all(|f| {
        let Some(col) = schema
            .field_by_id(f.source_id)
            .and_then(|s| batch.column_by_name(&s.name))
        else {
            return false;
        };
        if col.null_count() > 0 {
            return false;
        }
        match (f.transform, col.data_type()) {
            (Transform::Identity, DataType::Utf8) => {
                let s = col.as_string::<i32>();
                min_string(s) == max_string(s)
            }
            (
                Transform::Day | Transform::Month | Transform::Year,
                DataType::Timestamp(TimeUnit::Nanosecond, _),
            ) => {
                let ts = col.as_primitive::<TimestampNanosecondType>();
                match (min(ts), max(ts)) {
                    (Some(lo), Some(hi)) => same_period(f.transform, lo, hi),
                    _ => false,
                }
            }
            _ => false,
        }
    })
}

fn same_period(t: Transform, lo: i64, hi: i64) -> bool {
    let day = |ns: i64| ns.div_euclid(DAY_NS);
    if t == Transform::Day {
        return day(lo) == day(hi);
    }
    let date = |ns: i64| chrono::DateTime::from_timestamp_nanos(ns).date_naive();
    let (a, b) = (date(lo), date(hi));
    use chrono::Datelike;
    match t {
        Transform::Month => (a.year(), a.month()) == (b.year(), b.month()),
        _ => a.year() == b.year(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_split_at_utc_midnight_month_and_year() {
        let t = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| d.timestamp_nanos_opt().unwrap_or_default())
                .unwrap_or_default()
        };
        assert!(same_period(
            Transform::Day,
            t("2026-11-02T00:00:00Z"),
            t("2026-11-02T23:59:59.999999999Z")
        ));
        assert!(!same_period(
            Transform::Day,
            t("2026-11-02T23:59:59Z"),
            t("2026-11-03T00:00:00Z")
        ));
        assert!(same_period(
            Transform::Month,
            t("2026-11-01T00:00:00Z"),
            t("2026-11-30T23:00:00Z")
        ));
        assert!(!same_period(
            Transform::Month,
            t("2026-11-30T23:00:00Z"),
            t("2026-12-01T00:00:00Z")
        ));
        assert!(same_period(
            Transform::Year,
            t("2026-01-01T00:00:00Z"),
            t("2026-12-31T23:00:00Z")
        ));
        assert!(!same_period(
            Transform::Day,
            t("1969-12-31T23:00:00Z"),
            t("1970-01-01T01:00:00Z")
        ));
    }
}
