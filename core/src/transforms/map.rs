//! `map`: declarative mapping of raw source rows onto a category schema.
//!
//! ```toml
//! [transforms.ticks]
//! type = "map"
//! inputs = ["sim"]
//! category = "derivatives_tick_market_data"
//! passthrough = ["seq"]
//! [transforms.ticks.fields]
//! symbol_code = { from = "symbol" }                 # rename, cast to the field's type
//! price_unit = { value = "1_USD" }                  # constant
//! tick_time = { from = "ts", epoch = "ns" }         # integer epoch
//! # or { from = "ts", format = "%Y-%m-%d %H:%M:%S", timezone = "America/New_York" }
//! ```
//!
//! Fields not named take the same-named source column; `source_system_name`,
//! `component_instance_name` and `ingestion_time` are filled in when not
//! mapped. A row with a value that does not convert, or a required field
//! that is null, goes to the `unqualified` port with the reason.

use super::convert::{Epoch, TimeSpec, constant, convert};
use super::reject::{reject_batch, reject_schema};
use super::{category, now_ns};
use crate::schema::{CategorySchema, FieldSpec, unqualified_category};
use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, StringArray, new_null_array};
use arrow::compute::kernels::boolean::{and, not, or};
use arrow::compute::{filter, is_not_null, is_null};
use arrow::datatypes::{Field, Schema, SchemaRef};
use qdp_sdk::{Batch, Context, Describe, Emit, OutputDecl, PluginError, Result, Transform};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How one category field is filled.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    /// Source column to read (renamed and cast to the field's type).
    pub from: Option<String>,
    /// A constant, written as text and parsed into the field's type.
    pub value: Option<String>,
    /// chrono format of text timestamps, e.g. `%Y-%m-%d %H:%M:%S%.f`.
    pub format: Option<String>,
    /// IANA time zone of text timestamps without an offset, e.g. `America/New_York` (default UTC).
    pub timezone: Option<String>,
    /// Unit of integer epoch timestamps: s, ms, us or ns (default ns).
    pub epoch: Option<Epoch>,
}

/// Options of `map`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapOptions {
    /// Target category schema, e.g. `derivatives_tick_market_data`.
    pub category: String,
    /// `source_system_name` of the rows (default: the batch's source system).
    pub source_system: Option<String>,
    /// Rules per target field.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldRule>,
    /// Extra source columns kept unchanged after the category fields (e.g. a sequence number).
    #[serde(default)]
    pub passthrough: Vec<String>,
}

enum Fill {
    From(String, TimeSpec),
    Value(String, TimeSpec),
    SourceSystem,
    Component,
    IngestionTime,
}

/// The `map` transform.
pub struct Map {
    cat: &'static CategorySchema,
    fills: Vec<Fill>,
    source_system: Option<String>,
    component: String,
    passthrough: Vec<String>,
    rejects: SchemaRef,
}

impl Describe for Map {
    type Options = MapOptions;
    const NAME: &'static str = "map";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
}

fn plan_fill(f: &FieldSpec, rule: Option<&FieldRule>) -> Result<Fill> {
    let Some(r) = rule else {
        return Ok(match f.name.as_str() {
            "source_system_name" => Fill::SourceSystem,
            "component_instance_name" => Fill::Component,
            "ingestion_time" => Fill::IngestionTime,
            name => Fill::From(name.to_string(), TimeSpec::default()),
        });
    };
    let timezone = r
        .timezone
        .as_deref()
        .map(|tz| {
            tz.parse().map_err(|_| {
                PluginError::config(format!("fields.{}: unknown time zone `{tz}`", f.name))
            })
        })
        .transpose()?;
    let time = TimeSpec {
        format: r.format.clone(),
        timezone,
        epoch: r.epoch,
    };
    match (&r.from, &r.value) {
        (Some(c), None) => Ok(Fill::From(c.clone(), time)),
        (None, Some(v)) => Ok(Fill::Value(v.clone(), time)),
        _ => Err(PluginError::config(format!(
            "fields.{}: give exactly one of `from` or `value`",
            f.name
        ))),
    }
}

impl Transform for Map {
    fn new(o: MapOptions, ctx: &Context) -> Result<Self> {
        let cat = category(&o.category)?;
        if let Some(k) = o.fields.keys().find(|k| cat.field(k).is_none()) {
            return Err(PluginError::config(format!(
                "fields.{k}: `{}` has no field `{k}`",
                cat.name
            )));
        }
        let fills = cat
            .fields
            .iter()
            .map(|f| plan_fill(f, o.fields.get(&f.name)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            rejects: reject_schema(cat, &o.passthrough),
            cat,
            fills,
            source_system: o.source_system,
            component: ctx.component_id.clone(),
            passthrough: o.passthrough,
        })
    }

    fn outputs(&self, inputs: &[OutputDecl]) -> Result<Vec<OutputDecl>> {
        let mut extra = Vec::new();
        for d in inputs {
            let Some(s) = &d.schema else { continue };
            for (target, fill) in self.cat.fields.iter().zip(&self.fills) {
                if let Fill::From(c, _) = fill
                    && s.field_with_name(c).is_err()
                    && !target.nullable
                {
                    return Err(PluginError::config(format!(
                        "source column `{c}` (for `{}`) is not in the input `{}`; its columns are: {}",
                        target.name,
                        d.category,
                        s.fields()
                            .iter()
                            .map(|f| f.name().as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
            for p in &self.passthrough {
                let f = s.field_with_name(p).map_err(|_| {
                    PluginError::config(format!(
                        "passthrough column `{p}` is not in the input `{}`",
                        d.category
                    ))
                })?;
                if !extra.iter().any(|e: &Field| e.name() == p) {
                    extra.push(f.clone());
                }
            }
        }
        let schema = self.main_schema(&extra);
        Ok(vec![
            OutputDecl::main(&self.cat.name, schema),
            OutputDecl {
                port: Some("unqualified".into()),
                category: unqualified_category(&self.cat.name),
                schema: Some(self.rejects.clone()),
            },
        ])
    }

    fn process(&mut self, batch: &Batch) -> Result<Vec<Emit>> {
        let data = &batch.data;
        let n = data.num_rows();
        let source_system = self
            .source_system
            .as_deref()
            .unwrap_or(&batch.meta.source_system);
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(self.fills.len() + self.passthrough.len());
        let mut failures: Vec<(usize, BooleanArray)> = Vec::new();
        let mut missing: Vec<usize> = Vec::new();
        for (i, (f, fill)) in self.cat.fields.iter().zip(&self.fills).enumerate() {
            let (col, src) = match fill {
                Fill::From(c, t) => match data.column_by_name(c) {
                    Some(src) => (convert(src, f.ty, t)?, Some(src.clone())),
                    None => (new_null_array(&f.ty.arrow(), n), None),
                },
                Fill::Value(v, t) => (constant(v, f.ty, n, t)?, None),
                Fill::SourceSystem => (
                    Arc::new(StringArray::from(vec![source_system; n])) as ArrayRef,
                    None,
                ),
                Fill::Component => (
                    Arc::new(StringArray::from(vec![self.component.as_str(); n])) as ArrayRef,
                    None,
                ),
                Fill::IngestionTime => (ingestion(n)?, None),
            };
            let bad = match (&src, f.nullable) {
                (Some(s), true) => and(&is_not_null(s)?, &is_null(&col)?)?,
                (_, false) => is_null(&col)?,
                (None, true) => BooleanArray::from(vec![false; n]),
            };
            if bad.true_count() > 0 {
                if src.is_none() && matches!(fill, Fill::From(..)) {
                    missing.push(i);
                }
                failures.push((i, bad));
            }
            cols.push(col);
        }
        let mut extra_fields = Vec::new();
        for p in &self.passthrough {
            let c = data.column_by_name(p).ok_or_else(|| {
                PluginError::config(format!(
                    "passthrough column `{p}` is missing from the batch"
                ))
            })?;
            extra_fields.push(Field::new(p, c.data_type().clone(), c.is_nullable()));
            cols.push(c.clone());
        }
        let schema = self.main_schema(&extra_fields);
        if failures.is_empty() {
            let out = RecordBatch::try_new(schema, cols)?;
            return Ok(vec![Emit {
                port: None,
                category: self.cat.name.clone(),
                data: out,
            }]);
        }
        let mut any_bad = failures[0].1.clone();
        for (_, b) in &failures[1..] {
            any_bad = or(&any_bad, b)?;
        }
        let reasons = self.reasons(data, &failures, &missing, &any_bad);
        let rejected = reject_batch(
            &self.rejects,
            &|name| self.raw(data, name),
            &any_bad,
            reasons,
        )?;
        let keep = not(&any_bad)?;
        let cols = cols
            .iter()
            .map(|c| filter(c, &keep))
            .collect::<Result<Vec<_>, _>>()?;
        let good = RecordBatch::try_new(schema, cols)?;
        let mut emits = Vec::new();
        if good.num_rows() > 0 {
            emits.push(Emit {
                port: None,
                category: self.cat.name.clone(),
                data: good,
            });
        }
        emits.push(Emit {
            port: Some("unqualified".into()),
            category: unqualified_category(&self.cat.name),
            data: rejected,
        });
        Ok(emits)
    }
}

fn ingestion(n: usize) -> Result<ArrayRef> {
    Ok(Arc::new(
        arrow::array::TimestampNanosecondArray::from(vec![now_ns(); n]).with_timezone("UTC"),
    ))
}

impl Map {
    fn main_schema(&self, extra: &[Field]) -> SchemaRef {
        let base = self.cat.arrow_schema();
        let mut fields: Vec<Field> = base.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.extend(extra.iter().cloned());
        Arc::new(Schema::new_with_metadata(fields, base.metadata().clone()))
    }

    /// The raw source value behind a reject column: the mapped source column
    /// for a category field, the column itself for a passthrough one.
    fn raw(&self, data: &RecordBatch, name: &str) -> Option<ArrayRef> {
        if let Some(i) = self.cat.fields.iter().position(|f| f.name == name) {
            return match &self.fills[i] {
                Fill::From(c, _) => data.column_by_name(c).cloned(),
                Fill::Value(v, _) => Some(Arc::new(StringArray::from(vec![
                    v.as_str();
                    data.num_rows()
                ]))),
                _ => None,
            };
        }
        data.column_by_name(name).cloned()
    }

    fn reasons(
        &self,
        data: &RecordBatch,
        failures: &[(usize, BooleanArray)],
        missing: &[usize],
        any_bad: &BooleanArray,
    ) -> Vec<String> {
        let mut reasons = Vec::with_capacity(any_bad.true_count());
        let texts: Vec<Option<ArrayRef>> = failures
            .iter()
            .map(|(i, _)| {
                self.raw(data, &self.cat.fields[*i].name)
                    .and_then(|c| arrow::compute::cast(&c, &arrow::datatypes::DataType::Utf8).ok())
            })
            .collect();
        for row in 0..any_bad.len() {
            if !any_bad.value(row) {
                continue;
            }
            let mut parts = Vec::new();
            for ((i, mask), text) in failures.iter().zip(&texts) {
                if !mask.value(row) {
                    continue;
                }
                let f = &self.cat.fields[*i];
                let value = text.as_ref().map(|t| {
                    t.as_any()
                        .downcast_ref::<StringArray>()
                        .filter(|s| s.is_valid(row))
                        .map(|s| s.value(row).to_string())
                });
                parts.push(match value {
                    _ if missing.contains(i) => {
                        format!("{}: required but the source has no such column", f.name)
                    }
                    Some(Some(v)) => format!("{}: cannot read {v:?} as {}", f.name, f.ty.name()),
                    _ => format!("{}: required but null", f.name),
                });
            }
            reasons.push(parts.join("; "));
        }
        reasons
    }
}
