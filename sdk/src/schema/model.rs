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

/// How sensitive data is: decides who may read it (see `qdp access`).
/// Ordered from least to most sensitive.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// May leave the firm.
    Public,
    /// Everyone in the firm may read it (the default).
    #[default]
    Internal,
    /// Only the teams granted it.
    Confidential,
    /// Personal data: only roles holding the `pii` grant.
    Pii,
}

impl Classification {
    /// The name used in schema files and policies.
    pub fn name(self) -> &'static str {
        match self {
            Classification::Public => "public",
            Classification::Internal => "internal",
            Classification::Confidential => "confidential",
            Classification::Pii => "pii",
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
    /// The field's own classification when it is more sensitive than its
    /// schema's (a `pii` contact column in an `internal` table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
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
    /// The team that answers for the data's meaning and quality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Sensitivity of the whole dataset; fields may only raise it.
    #[serde(default)]
    pub classification: Classification,
    /// How fresh readers may expect the data, e.g. `1s` for ticks or `1h`
    /// after publication for releases (a promise shown in the catalogue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness_sla: Option<String>,
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

    /// A field's effective classification: its own, else the schema's.
    pub fn classification_of(&self, field: &FieldSpec) -> Classification {
        field
            .classification
            .unwrap_or(self.classification)
            .max(self.classification)
    }

    /// The fields only roles holding the `pii` grant may read.
    pub fn pii_fields(&self) -> impl Iterator<Item = &FieldSpec> {
        self.fields
            .iter()
            .filter(|f| self.classification_of(f) == Classification::Pii)
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
        if let Some(f) = self
            .fields
            .iter()
            .find(|f| f.classification.is_some_and(|c| c < self.classification))
        {
            return Err(format!(
                "{}: field `{}` is classified below its schema ({}); a field may only raise it",
                self.name,
                f.name,
                self.classification.name()
            ));
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
