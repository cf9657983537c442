//! What a load brings, per category, read from its batches before anything
//! is written: qualified and unqualified rows, nulls per nullable field;
//! and the verdict of the gates on those figures.

use super::options::{Gates, Limit};
use qdp_sdk::Batch;
use qdp_sdk::schema::registry;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The figures of one category in one load.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measure {
    /// Category (a schema name, `bronze_<dataset>`, or the base name of a
    /// reject table nothing pairs with).
    pub category: String,
    /// Source components the rows come from.
    pub origins: BTreeSet<String>,
    /// Rows of the category itself.
    pub qualified: u64,
    /// Rows of its reject table(s).
    pub unqualified: u64,
    /// Nullable field → null values among the qualified rows.
    pub nulls: BTreeMap<String, u64>,
    /// Rows inserted or updated (filled after the write).
    pub out: u64,
    /// Rows that changed nothing (filled after the write).
    pub unchanged: u64,
}

impl Measure {
    /// Qualified plus unqualified rows.
    pub fn rows_in(&self) -> u64 {
        self.qualified + self.unqualified
    }
}

/// Measures every category of `batches` (raw objects are not measured).
pub fn measure(batches: &[Batch], gates: &Gates) -> Vec<Measure> {
    let mut out: BTreeMap<String, Measure> = BTreeMap::new();
    for b in batches {
        let cat = &b.meta.category;
        if cat == qdp_sdk::raw::RAW_OBJECT {
            continue;
        }
        let rows = b.data.num_rows() as u64;
        let target = if cat.ends_with("_unqualified") {
            gates.unqualified_target(cat)
        } else {
            cat.clone()
        };
        let m = out.entry(target.clone()).or_insert_with(|| Measure {
            category: target,
            ..Measure::default()
        });
        m.origins.insert(b.meta.origin.clone());
        if cat.ends_with("_unqualified") {
            m.unqualified += rows;
            continue;
        }
        m.qualified += rows;
        if let Some(schema) = registry().get(cat) {
            for f in schema.fields.iter().filter(|f| f.nullable) {
                let n = match b.data.column_by_name(&f.name) {
                    Some(col) => col.null_count() as u64,
                    None => rows,
                };
                *m.nulls.entry(f.name.clone()).or_default() += n;
            }
        }
    }
    out.into_values().collect()
}

/// The thresholds applied to `m` and, when one is crossed, why.
pub fn judge(m: &Measure, gates: &Gates) -> (Value, Option<String>) {
    let mut applied = serde_json::Map::new();
    let mut failures = Vec::new();
    let checked = m.rows_in() >= gates.ratio_min_rows;
    if let Some(Limit { ratio, key }) = gates.unqualified_limit(&m.category) {
        applied.insert("max_unqualified_ratio".into(), json!(ratio));
        let measured = share(m.unqualified, m.rows_in());
        if checked && measured > ratio {
            let mut why = format!(
                "{}: {} of {} rows unqualified (ratio {measured:.3}) is above {key} = {ratio}",
                m.category,
                m.unqualified,
                m.rows_in()
            );
            if m.qualified == 0 && registry().get(&m.category).is_none() {
                why.push_str(&format!(
                    " (no `{}` rows pair with these rejects: map their table with quality.unqualified_of)",
                    m.category
                ));
            } else if m.qualified == 0 {
                why.push_str(" (the load has only rejects of it: if its rows come in separate writes, raise the sink's batch.max_wait)");
            }
            failures.push(why);
        }
    }
    if let Some(schema) = registry().get(&m.category) {
        let mut nulls = serde_json::Map::new();
        for (field, Limit { ratio, key }) in gates.null_limits(schema) {
            nulls.insert(field.clone(), json!(ratio));
            let n = m.nulls.get(&field).copied().unwrap_or(0);
            let measured = share(n, m.qualified);
            if m.qualified >= gates.ratio_min_rows && measured > ratio {
                failures.push(format!(
                    "{}: `{field}` is null in {n} of {} qualified rows (ratio {measured:.3}), above {key} = {ratio}",
                    m.category, m.qualified
                ));
            }
        }
        if !nulls.is_empty() {
            applied.insert("max_null_ratio".into(), Value::Object(nulls));
        }
    }
    if !applied.is_empty() {
        applied.insert("ratio_min_rows".into(), json!(gates.ratio_min_rows));
    }
    let reason = (!failures.is_empty()).then(|| failures.join("; "));
    (Value::Object(applied), reason)
}

/// `part / whole`, 0 when `whole` is 0.
pub fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::options::{QualityOptions, check};
    use qdp_sdk::BatchMeta;
    use qdp_sdk::arrow::array::{ArrayRef, RecordBatch, StringArray};
    use qdp_sdk::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch(category: &str, origin: &str, col: &str, values: Vec<Option<&str>>) -> Batch {
        let schema = Schema::new(vec![Field::new(col, DataType::Utf8, true)]);
        let array: ArrayRef = Arc::new(values.into_iter().collect::<StringArray>());
        Batch {
            data: RecordBatch::try_new(Arc::new(schema), vec![array])
                .unwrap_or_else(|e| panic!("{e}")),
            meta: BatchMeta {
                category: category.into(),
                origin: origin.into(),
                ..Default::default()
            },
        }
    }

    fn gates(o: serde_json::Value) -> Gates {
        let o: QualityOptions = serde_json::from_value(o).unwrap_or_else(|e| panic!("{e}"));
        check(o, false).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn rejects_count_against_their_category_or_the_mapped_one() {
        let g =
            gates(json!({ "unqualified_of": { "cftc_cot_unqualified": "numeric_economic_data" } }));
        let batches = [
            batch(
                "numeric_economic_data",
                "eia",
                "reference_period",
                vec![Some("2026-04-24"), None, None],
            ),
            batch(
                "numeric_economic_data_unqualified",
                "eia",
                "x",
                vec![Some("a")],
            ),
            batch(
                "cftc_cot_unqualified",
                "cftc",
                "x",
                vec![Some("b"), Some("c")],
            ),
            batch("bronze_clients", "drop", "x", vec![Some("d")]),
            batch("bronze_clients_unqualified", "drop", "x", vec![Some("e")]),
            batch("raw_object", "eia", "x", vec![Some("f")]),
        ];
        let m = measure(&batches, &g);
        let figures: Vec<(&str, u64, u64, usize)> = m
            .iter()
            .map(|m| {
                (
                    m.category.as_str(),
                    m.qualified,
                    m.unqualified,
                    m.origins.len(),
                )
            })
            .collect();
        assert_eq!(
            figures,
            vec![
                ("bronze_clients", 1, 1, 1),
                ("numeric_economic_data", 3, 3, 2)
            ]
        );
        // A field missing from the batch is null in every row.
        assert_eq!(m[1].nulls.get("reference_period"), Some(&2));
    }

    #[test]
    fn ratios_wait_for_enough_rows_and_name_the_key() {
        let g = gates(json!({ "max_unqualified_ratio": 0.2, "ratio_min_rows": 10 }));
        let mut m = Measure {
            category: "numeric_economic_data".into(),
            qualified: 6,
            unqualified: 3,
            ..Measure::default()
        };
        let (applied, reason) = judge(&m, &g);
        assert_eq!(reason, None, "9 rows are below ratio_min_rows");
        assert_eq!(applied["max_unqualified_ratio"], json!(0.2));
        m.qualified = 7;
        let reason = judge(&m, &g).1.unwrap_or_default();
        assert!(reason.contains("3 of 10 rows unqualified (ratio 0.300) is above quality.max_unqualified_ratio = 0.2"), "{reason}");
        // Rejects with no category to pair with say how to map them.
        let orphan = Measure {
            category: "cftc_cot".into(),
            unqualified: 20,
            ..Measure::default()
        };
        let reason = judge(&orphan, &g).1.unwrap_or_default();
        assert!(reason.contains("quality.unqualified_of"), "{reason}");
    }
}
