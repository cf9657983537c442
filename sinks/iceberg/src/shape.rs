//! What a table looks like: its Iceberg schema and partition spec, derived
//! from the category schema (or its reject schema for `*_unqualified`), and
//! how an incoming batch is fitted to the table's current schema.

use crate::config::TimePartition;
use iceberg::spec::{NestedField, PrimitiveType, Schema, Transform, Type, UnboundPartitionSpec};
use iceberg::transaction::AddColumn;
use qdp_sdk::arrow::array::{AsArray, RecordBatch, new_null_array};
use qdp_sdk::arrow::compute::cast;
use qdp_sdk::arrow::datatypes::{DataType, TimeUnit, TimestampNanosecondType};
use qdp_sdk::schema::{LogicalType, registry};
use qdp_sdk::{PluginError, Result};
use std::sync::Arc;

/// One column as the category declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: PrimitiveType,
    pub required: bool,
    pub doc: String,
}

/// A table's columns in order and the column it is partitioned by day on.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub columns: Vec<Column>,
    /// The designated timestamp (partitioned by `day`), absent for rejects
    /// and reference data.
    pub timestamp: Option<String>,
}

fn iceberg_type(t: LogicalType) -> PrimitiveType {
    match t {
        LogicalType::Utf8 => PrimitiveType::String,
        LogicalType::Float64 => PrimitiveType::Double,
        LogicalType::Int64 => PrimitiveType::Long,
        // Nanoseconds as the category schemas carry them: Iceberg format v3.
        LogicalType::TimestampNsUtc => PrimitiveType::TimestamptzNs,
    }
}

/// The shape of `category`'s table; `*_unqualified` gets every field as
/// optional text plus the required `unqualified_reason`.
pub fn shape_of(category: &str) -> Result<Shape> {
    if let Some(s) = registry().get(category) {
        return Ok(Shape {
            columns: s
                .fields
                .iter()
                .map(|f| Column {
                    name: f.name.clone(),
                    ty: iceberg_type(f.ty),
                    required: !f.nullable,
                    doc: f.glossary.clone(),
                })
                .collect(),
            timestamp: s.timestamp.clone(),
        });
    }
    let base = category
        .strip_suffix("_unqualified")
        .and_then(|b| registry().get(b));
    let Some(s) = base else {
        return Err(PluginError::config(format!(
            "category `{category}` has no category schema: the iceberg sink writes category rows and their rejects only"
        )));
    };
    let mut columns: Vec<Column> = s
        .fields
        .iter()
        .map(|f| Column {
            name: f.name.clone(),
            ty: PrimitiveType::String,
            required: false,
            doc: format!("as received: {}", f.glossary),
        })
        .collect();
    columns.push(Column {
        name: "unqualified_reason".into(),
        ty: PrimitiveType::String,
        required: true,
        doc: "why the row did not fit its category schema".into(),
    });
    Ok(Shape {
        columns,
        timestamp: None,
    })
}

/// The shape for `category`'s rows: its category schema's (or reject
/// schema's) when it has one; otherwise, for raw categories such as the
/// Kafka source's `kafka_messages_unqualified`, the batches' own Arrow
/// schema with every column optional, so a processor keeps undecodable
/// messages as history instead of failing on them.
pub fn shape_for(category: &str, arrow: &qdp_sdk::arrow::datatypes::Schema) -> Result<Shape> {
    let known = registry().get(category).is_some()
        || category
            .strip_suffix("_unqualified")
            .is_some_and(|b| registry().get(b).is_some());
    if known {
        return shape_of(category);
    }
    let columns = arrow
        .fields()
        .iter()
        .map(|f| {
            Ok(Column {
                name: f.name().clone(),
                ty: raw_type(f.data_type()).ok_or_else(|| {
                    PluginError::config(format!(
                        "column `{}` of raw category `{category}` has type {}, which the iceberg sink does not store",
                        f.name(),
                        f.data_type()
                    ))
                })?,
                required: false,
                doc: format!("as the source sent it (raw category `{category}`)"),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Shape {
        columns,
        timestamp: None,
    })
}

/// The Iceberg type of a raw category's Arrow column, when there is one.
fn raw_type(t: &DataType) -> Option<PrimitiveType> {
    Some(match t {
        DataType::Utf8 | DataType::LargeUtf8 => PrimitiveType::String,
        DataType::Int32 => PrimitiveType::Int,
        DataType::Int64 => PrimitiveType::Long,
        DataType::Float32 => PrimitiveType::Float,
        DataType::Float64 => PrimitiveType::Double,
        DataType::Boolean => PrimitiveType::Boolean,
        DataType::Binary | DataType::LargeBinary => PrimitiveType::Binary,
        DataType::Date32 => PrimitiveType::Date,
        DataType::Timestamp(TimeUnit::Nanosecond, Some(_)) => PrimitiveType::TimestamptzNs,
        DataType::Timestamp(TimeUnit::Nanosecond, None) => PrimitiveType::TimestampNs,
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => PrimitiveType::Timestamptz,
        DataType::Timestamp(TimeUnit::Microsecond, None) => PrimitiveType::Timestamp,
        _ => return None,
    })
}

impl Shape {
    /// The Iceberg schema, field ids 1..n in column order.
    pub fn schema(&self) -> Result<Schema> {
        let fields = self
            .columns
            .iter()
            .zip(1..)
            .map(|(c, id)| {
                let f = NestedField::new(id, &c.name, Type::Primitive(c.ty.clone()), c.required)
                    .with_doc(&c.doc);
                Arc::new(f)
            })
            .collect::<Vec<_>>();
        Schema::builder()
            .with_fields(fields)
            .build()
            .map_err(|e| PluginError::internal(format!("iceberg schema: {e}")))
    }

    /// `day(<timestamp>)` (or `month`, `year`, per `time`) then
    /// `identity(source_system_name)`, each when the column exists: readers
    /// prune by date and by feed.
    pub fn partition_spec(
        &self,
        schema: &Schema,
        time: TimePartition,
    ) -> Result<UnboundPartitionSpec> {
        let mut b = UnboundPartitionSpec::builder();
        let mut add = |column: &str, name: String, t: Transform| -> Result<()> {
            if let Some(f) = schema.field_by_name(column) {
                b = std::mem::take(&mut b)
                    .add_partition_field(f.id, name, t)
                    .map_err(|e| PluginError::internal(format!("partition spec: {e}")))?;
            }
            Ok(())
        };
        let by_time = match time {
            TimePartition::Day => Some(("day", Transform::Day)),
            TimePartition::Month => Some(("month", Transform::Month)),
            TimePartition::Year => Some(("year", Transform::Year)),
            TimePartition::None => None,
        };
        if let (Some(ts), Some((suffix, t))) = (&self.timestamp, by_time) {
            add(ts, format!("{ts}_{suffix}"), t)?;
        }
        add(
            "source_system_name",
            "source_system_name".into(),
            Transform::Identity,
        )?;
        Ok(b.build())
    }

    /// Columns the category has and the table lacks. Only nullable ones can
    /// be added (a category version may only add nullable fields); a
    /// missing required column is an error naming it.
    pub fn missing_from(&self, table: &Schema) -> Result<Vec<AddColumn>> {
        let mut add = Vec::new();
        for c in &self.columns {
            if table.field_by_name(&c.name).is_some() {
                continue;
            }
            if c.required {
                return Err(PluginError::config(format!(
                    "the table lacks required column `{}`: a category schema may only gain nullable fields; write to a new table",
                    c.name
                )));
            }
            add.push(
                AddColumn::builder()
                    .name(c.name.clone())
                    .field_type(Type::Primitive(c.ty.clone()))
                    .doc(c.doc.clone())
                    .build(),
            );
        }
        Ok(add)
    }
}

/// `batch` with exactly the columns of `target` (the table's Arrow schema,
/// field ids in metadata): found by name and cast where only the
/// timestamp's zone label differs; absent optional columns as nulls.
pub fn fit(
    batch: &RecordBatch,
    target: &qdp_sdk::arrow::datatypes::SchemaRef,
) -> Result<RecordBatch> {
    let schema = batch.schema();
    let mut columns = Vec::with_capacity(target.fields().len());
    for f in target.fields() {
        let col = match schema.index_of(f.name()) {
            Ok(i) => {
                let c = batch.column(i);
                if c.data_type() == f.data_type() {
                    c.clone()
                } else if let (
                    DataType::Timestamp(TimeUnit::Nanosecond, _),
                    DataType::Timestamp(TimeUnit::Nanosecond, Some(tz)),
                ) = (c.data_type(), f.data_type())
                {
                    // Only the zone label differs ("UTC" vs "+00:00"): relabel, no copy.
                    Arc::new(
                        c.as_primitive::<TimestampNanosecondType>()
                            .clone()
                            .with_timezone(tz.clone()),
                    )
                } else {
                    cast(c, f.data_type()).map_err(|e| {
                        PluginError::internal(format!(
                            "column `{}`: cannot store {} as {}: {e}",
                            f.name(),
                            c.data_type(),
                            f.data_type()
                        ))
                    })?
                }
            }
            Err(_) if f.is_nullable() => new_null_array(f.data_type(), batch.num_rows()),
            Err(_) => {
                return Err(PluginError::internal(format!(
                    "the batch has no column `{}`, which the table requires",
                    f.name()
                )));
            }
        };
        columns.push(col);
    }
    RecordBatch::try_new(target.clone(), columns)
        .map_err(|e| PluginError::internal(format!("fitting a batch to the table: {e}")))
}
