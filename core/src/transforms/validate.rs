//! `validate`: checks rows against their category schema (types, NOT NULL,
//! domains, bounds, unit syntax). Passing rows go on unchanged; failing rows
//! go to the `unqualified` port with every failed check as the reason.

use super::category;
use super::reject::{reject_batch, reject_schema};
use crate::schema::{CategorySchema, FieldSpec, LogicalType, unqualified_category};
use arrow::array::Scalar;
use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch};
use arrow::compute::kernels::boolean::{not, or};
use arrow::compute::kernels::cmp::{gt, lt};
use arrow::compute::{filter_record_batch, is_null};
use qdp_sdk::{Batch, Context, Describe, Emit, OutputDecl, PluginError, Result, Transform};
use serde::Deserialize;

/// Options of `validate`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateOptions {
    /// Category to check against (default: each batch's own category).
    pub category: Option<String>,
}

/// The `validate` transform.
pub struct Validate {
    category: Option<&'static CategorySchema>,
}

impl Describe for Validate {
    type Options = ValidateOptions;
    const NAME: &'static str = "validate";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
}

/// Whether `s` reads `<amount>_<unit>`, e.g. `1_USD`, `1000_barrels`, `0.01_USD`.
pub fn is_unit(s: &str) -> bool {
    let Some((amount, unit)) = s.split_once('_') else {
        return false;
    };
    let mut parts = amount.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let frac_ok = parts
        .next()
        .is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac_ok
        && unit.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && unit.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

enum Check {
    /// The whole column is unusable: missing or of the wrong type.
    Column(String),
    Rows(BooleanArray, &'static str),
}

fn bound_check(col: &ArrayRef, f: &FieldSpec) -> Result<Vec<(BooleanArray, String)>> {
    let mut out = Vec::new();
    for (limit, below) in [(f.min, true), (f.max, false)] {
        let Some(l) = limit else { continue };
        let mask = match f.ty {
            LogicalType::Float64 => {
                let s = Scalar::new(Float64Array::from(vec![l]));
                if below { lt(col, &s)? } else { gt(col, &s)? }
            }
            LogicalType::Int64 => {
                let s = Scalar::new(Int64Array::from(vec![l as i64]));
                if below { lt(col, &s)? } else { gt(col, &s)? }
            }
            _ => continue,
        };
        let mask = BooleanArray::from(
            mask.iter()
                .map(|v| Some(v.unwrap_or(false)))
                .collect::<Vec<_>>(),
        );
        out.push((
            mask,
            if below {
                format!("below min {l}")
            } else {
                format!("above max {l}")
            },
        ));
    }
    Ok(out)
}

fn text_check(col: &ArrayRef, pred: impl Fn(&str) -> bool) -> BooleanArray {
    let s = col.as_string::<i32>();
    BooleanArray::from(
        s.iter()
            .map(|v| Some(v.is_some_and(|v| !pred(v))))
            .collect::<Vec<_>>(),
    )
}

impl Validate {
    fn checks(
        cat: &CategorySchema,
        data: &RecordBatch,
    ) -> Result<Vec<(usize, Check, Option<String>)>> {
        let mut checks = Vec::new();
        for (i, f) in cat.fields.iter().enumerate() {
            let Some(col) = data.column_by_name(&f.name) else {
                if !f.nullable {
                    checks.push((i, Check::Column("missing column".into()), None));
                }
                continue;
            };
            let expected = f.ty.arrow();
            let type_ok = col.data_type() == &expected
                || matches!((col.data_type(), &expected), (arrow::datatypes::DataType::Timestamp(u1, Some(tz)), arrow::datatypes::DataType::Timestamp(u2, _)) if u1 == u2 && (tz.as_ref() == "UTC" || tz.as_ref() == "+00:00"));
            if !type_ok {
                checks.push((
                    i,
                    Check::Column(format!("expected {}, got {}", f.ty.name(), col.data_type())),
                    None,
                ));
                continue;
            }
            if !f.nullable && col.null_count() > 0 {
                checks.push((i, Check::Rows(is_null(col)?, "required but null"), None));
            }
            if let Some(domain) = &f.domain {
                let m = text_check(col, |v| domain.iter().any(|d| d == v));
                if m.true_count() > 0 {
                    checks.push((i, Check::Rows(m, "not in domain"), Some(domain.join(", "))));
                }
            }
            if f.unit {
                let m = text_check(col, is_unit);
                if m.true_count() > 0 {
                    checks.push((
                        i,
                        Check::Rows(m, "not a unit like 1_USD or 1000_barrels"),
                        None,
                    ));
                }
            }
            for (m, what) in bound_check(col, f)? {
                if m.true_count() > 0 {
                    checks.push((i, Check::Rows(m, "out of range"), Some(what)));
                }
            }
        }
        Ok(checks)
    }
}

impl Transform for Validate {
    fn new(o: ValidateOptions, _: &Context) -> Result<Self> {
        Ok(Self {
            category: o.category.as_deref().map(category).transpose()?,
        })
    }

    fn outputs(&self, inputs: &[OutputDecl]) -> Result<Vec<OutputDecl>> {
        let mut out = Vec::new();
        for d in inputs {
            let cat = match self.category {
                Some(c) => c,
                None => category(&d.category).map_err(|e| {
                    PluginError::config(format!(
                        "input category `{}` is not a category schema ({e}); map it first",
                        d.category
                    ))
                })?,
            };
            let extras: Vec<String> = d
                .schema
                .as_ref()
                .map(|s| {
                    s.fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .filter(|n| cat.field(n).is_none())
                        .collect()
                })
                .unwrap_or_default();
            out.push(OutputDecl {
                port: None,
                category: cat.name.clone(),
                schema: d.schema.clone().or_else(|| Some(cat.arrow_schema())),
            });
            out.push(OutputDecl {
                port: Some("unqualified".into()),
                category: unqualified_category(&cat.name),
                schema: Some(reject_schema(cat, &extras)),
            });
        }
        out.dedup_by(|a, b| a.port == b.port && a.category == b.category);
        Ok(out)
    }

    fn process(&mut self, batch: &Batch) -> Result<Vec<Emit>> {
        let cat = match self.category {
            Some(c) => c,
            None => category(&batch.meta.category)?,
        };
        let data = &batch.data;
        let n = data.num_rows();
        let checks = Self::checks(cat, data)?;
        if checks.is_empty() {
            return Ok(vec![Emit {
                port: None,
                category: cat.name.clone(),
                data: data.clone(),
            }]);
        }
        let masks: Vec<BooleanArray> = checks
            .iter()
            .map(|(_, c, _)| match c {
                Check::Column(_) => BooleanArray::from(vec![true; n]),
                Check::Rows(m, _) => m.clone(),
            })
            .collect();
        let mut bad = masks[0].clone();
        for m in &masks[1..] {
            bad = or(&bad, m)?;
        }
        let texts: Vec<Option<ArrayRef>> = checks
            .iter()
            .map(|(i, _, _)| {
                data.column_by_name(&cat.fields[*i].name)
                    .and_then(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).ok())
            })
            .collect();
        let mut reasons = Vec::with_capacity(bad.true_count());
        for row in (0..n).filter(|r| bad.value(*r)) {
            let mut parts = Vec::new();
            for (((i, c, extra), m), text) in checks.iter().zip(&masks).zip(&texts) {
                if !m.value(row) {
                    continue;
                }
                let name = &cat.fields[*i].name;
                let value = text.as_ref().and_then(|t| {
                    let s = t.as_string::<i32>();
                    s.is_valid(row).then(|| s.value(row).to_string())
                });
                parts.push(match (c, extra, value) {
                    (Check::Column(why), _, _) => format!("{name}: {why}"),
                    (Check::Rows(_, what), Some(x), Some(v)) => {
                        format!("{name}: {v:?} {what} ({x})")
                    }
                    (Check::Rows(_, what), _, Some(v)) => format!("{name}: {v:?} {what}"),
                    (Check::Rows(_, what), _, None) => format!("{name}: {what}"),
                });
            }
            reasons.push(parts.join("; "));
        }
        let extras: Vec<String> = data
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|n| cat.field(n).is_none())
            .collect();
        let rejects = reject_batch(
            &reject_schema(cat, &extras),
            &|name| data.column_by_name(name).cloned(),
            &bad,
            reasons,
        )?;
        let good = filter_record_batch(data, &not(&bad)?)?;
        let mut emits = Vec::new();
        if good.num_rows() > 0 {
            emits.push(Emit {
                port: None,
                category: cat.name.clone(),
                data: good,
            });
        }
        emits.push(Emit {
            port: Some("unqualified".into()),
            category: unqualified_category(&cat.name),
            data: rejects,
        });
        Ok(emits)
    }
}
