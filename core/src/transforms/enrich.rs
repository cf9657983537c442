//! `enrich`: sets `source_system_name`, `component_instance_name` and
//! `ingestion_time` on rows that already have a category's shape (sources
//! that emit category rows themselves skip `map`).

use super::{category, now_ns};
use arrow::array::{ArrayRef, RecordBatch, StringArray, TimestampNanosecondArray};
use arrow::datatypes::{Field, Schema};
use qdp_sdk::{Batch, Context, Describe, Emit, OutputDecl, Result, Transform};
use serde::Deserialize;
use std::sync::Arc;

/// Options of `enrich`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrichOptions {
    /// `source_system_name` to write (default: the batch's source system).
    pub source_system: Option<String>,
    /// `component_instance_name` to write (default: this transform's id).
    pub component_instance: Option<String>,
}

/// The `enrich` transform.
pub struct Enrich {
    o: EnrichOptions,
    id: String,
}

impl Describe for Enrich {
    type Options = EnrichOptions;
    const NAME: &'static str = "enrich";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
}

impl Transform for Enrich {
    fn new(o: EnrichOptions, ctx: &Context) -> Result<Self> {
        Ok(Self {
            o,
            id: ctx.component_id.clone(),
        })
    }

    fn outputs(&self, inputs: &[OutputDecl]) -> Result<Vec<OutputDecl>> {
        Ok(inputs
            .iter()
            .map(|d| OutputDecl {
                port: None,
                category: d.category.clone(),
                schema: category(&d.category)
                    .ok()
                    .map(|c| c.arrow_schema())
                    .or_else(|| d.schema.clone()),
            })
            .collect())
    }

    fn process(&mut self, batch: &Batch) -> Result<Vec<Emit>> {
        let n = batch.data.num_rows();
        let system = self
            .o
            .source_system
            .clone()
            .unwrap_or_else(|| batch.meta.source_system.clone());
        let comp = self
            .o
            .component_instance
            .clone()
            .unwrap_or_else(|| self.id.clone());
        let meta: [(&str, ArrayRef); 3] = [
            (
                "source_system_name",
                Arc::new(StringArray::from(vec![system.as_str(); n])),
            ),
            (
                "component_instance_name",
                Arc::new(StringArray::from(vec![comp.as_str(); n])),
            ),
            (
                "ingestion_time",
                Arc::new(TimestampNanosecondArray::from(vec![now_ns(); n]).with_timezone("UTC")),
            ),
        ];
        let schema = batch.data.schema();
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        let mut cols: Vec<ArrayRef> = batch.data.columns().to_vec();
        for (name, col) in meta {
            let field = Field::new(name, col.data_type().clone(), false);
            match fields.iter().position(|f| f.name() == name) {
                Some(i) => {
                    fields[i] = field;
                    cols[i] = col;
                }
                None => {
                    fields.push(field);
                    cols.push(col);
                }
            }
        }
        let mut data = RecordBatch::try_new(
            Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())),
            cols,
        )?;
        // Keep the category's field order when the batch is a category.
        if let Ok(cat) = category(&batch.meta.category) {
            let target = cat.arrow_schema();
            let mut order: Vec<usize> = target
                .fields()
                .iter()
                .filter_map(|f| data.schema().index_of(f.name()).ok())
                .collect();
            let rest: Vec<usize> = (0..data.num_columns())
                .filter(|i| !order.contains(i))
                .collect();
            order.extend(rest);
            data = data.project(&order)?;
        }
        Ok(vec![Emit {
            port: None,
            category: batch.meta.category.clone(),
            data,
        }])
    }
}
