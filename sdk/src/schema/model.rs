//! The shape of a category schema file and its Arrow form.

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// The small vocabulary of types category fields use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogicalType {
    /// UTF-8 text.
    Utf8,
    /// 64-bit float.
    Float64,
    /// 64-bit signed integer.
    Int64,
    /// Timestamp, nanoseconds, UTC.
    TimestampNsUtc,
}

impl LogicalType {
    /// The Arrow type.
    pub fn arrow(self) -> DataType {
        match self {
            LogicalType::Utf8 => DataType::Utf8,
            LogicalType::Float64 => DataType::Float64,
            LogicalType::Int64 => DataType::Int64,
            LogicalType::TimestampNsUtc => {
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
            }
        }
    }

    /// The name used in schema files.
    pub fn name(self) -> &'static str {
        match self {
            LogicalType::Utf8 => "utf8",
            LogicalType::Float64 => "float64",
            LogicalType::Int64 => "int64",
            LogicalType::TimestampNsUtc => "timestamp_ns_utc",
        }
    }
}

/// One field of a category schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Column name.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub ty: LogicalType,
    /// Whether nulls are allowed (default: not).
    #[serde(default)]
    pub nullable: bool,
    /// What the field means.
    pub glossary: String,
    /// Allowed values, for text fields with a closed domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<Vec<String>>,
    /// Smallest allowed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest allowed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// A unit field: values look like `<amount>_<unit>` (`1_USD`, `1000_barrels`).
    #[serde(default)]
    pub unit: bool,
}

/// A canonical category schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategorySchema {
    /// Name, e.g. `derivatives_tick_market_data`.
    pub name: String,
    /// Version; a new version may only add nullable fields.
    pub version: u32,
    /// What a row is.
    pub description: String,
    /// The designated identifier field.
    pub identifier: String,
    /// The designated timestamp field (reference data may have none).
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Fields whose values identify a row.
    pub unique_key: Vec<String>,
    /// Fields in order.
    pub fields: Vec<FieldSpec>,
}

/// The name of the reject category of `category`.
pub fn unqualified_category(category: &str) -> String {
    format!("{category}_unqualified")
}

impl CategorySchema {
    /// A field by name.
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The Arrow schema; field metadata carries the glossary.
    pub fn arrow_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .fields
            .iter()
            .map(|f| {
                Field::new(&f.name, f.ty.arrow(), f.nullable).with_metadata(HashMap::from([(
                    "glossary".to_string(),
                    f.glossary.clone(),
                )]))
            })
            .collect();
        let mut meta = HashMap::from([
            ("qdp.category".to_string(), self.name.clone()),
            ("qdp.version".to_string(), self.version.to_string()),
            ("qdp.identifier".to_string(), self.identifier.clone()),
            ("qdp.unique_key".to_string(), self.unique_key.join(",")),
        ]);
        if let Some(ts) = &self.timestamp {
            meta.insert("qdp.timestamp".to_string(), ts.clone());
        }
        Arc::new(Schema::new_with_metadata(fields, meta))
    }

    /// The reject schema: every field as nullable text (values kept verbatim)
    /// plus `unqualified_reason`.
    pub fn unqualified_schema(&self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .fields
            .iter()
            .map(|f| Field::new(&f.name, DataType::Utf8, true))
            .collect();
        fields.push(Field::new("unqualified_reason", DataType::Utf8, false));
        Arc::new(Schema::new(fields))
    }

    /// Checks the file's own consistency.
    pub fn check(&self) -> Result<(), String> {
        let has = |n: &str| self.field(n).is_some();
        for required in [
            "source_system_name",
            "component_instance_name",
            "ingestion_time",
            self.identifier.as_str(),
        ] {
            if !has(required) {
                return Err(format!("{}: missing field `{required}`", self.name));
            }
        }
        if let Some(ts) = &self.timestamp {
            match self.field(ts) {
                Some(f) if f.ty == LogicalType::TimestampNsUtc => {}
                _ => {
                    return Err(format!(
                        "{}: designated timestamp `{ts}` must be a timestamp_ns_utc field",
                        self.name
                    ));
                }
            }
        }
        if let Some(k) = self.unique_key.iter().find(|k| !has(k)) {
            return Err(format!(
                "{}: unique key field `{k}` does not exist",
                self.name
            ));
        }
        Ok(())
    }
}
