//! The catalogue as data: what `catalog.json` holds and every renderer reads.
//!
//! The shape is documented field by field here and in the crate's README;
//! it only grows (new fields are added, none renamed), so scripts reading
//! `catalog.json` keep working.

use qdp_sdk::schema::{CategorySchema, Classification, FieldSpec};
use serde::Serialize;

/// The whole catalogue.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalog {
    /// Version of the `qdp` that built it.
    pub qdp_version: String,
    /// The category schemas: the logical datasets every physical one implements.
    pub categories: Vec<Category>,
    /// The pipeline files read, with their components (secrets redacted).
    pub pipelines: Vec<PipelineEntry>,
    /// Physical datasets: tables, views, topics, folders, buffers, the lake.
    pub datasets: Vec<Dataset>,
    /// Lineage graph nodes (source systems, connectors, buffers, processors, datasets).
    pub nodes: Vec<Node>,
    /// Lineage graph edges, upstream → downstream.
    pub edges: Vec<Edge>,
    /// The source → category field dictionary of every connector and `map`.
    pub dictionary: Vec<DictEntry>,
    /// What could not be catalogued exactly (an unknown component type, a
    /// category a sink refuses), so gaps are visible rather than silent.
    pub notes: Vec<String>,
}

/// One category schema.
#[derive(Debug, Clone, Serialize)]
pub struct Category {
    /// e.g. `numeric_economic_data`.
    pub name: String,
    /// Schema version.
    pub version: u32,
    /// What a row is.
    pub description: String,
    /// Designated identifier field.
    pub identifier: String,
    /// Designated timestamp field, if any.
    pub timestamp: Option<String>,
    /// Fields whose values identify a row.
    pub unique_key: Vec<String>,
    /// The team answering for the data.
    pub owner: Option<String>,
    /// Sensitivity of the whole dataset.
    pub classification: Classification,
    /// Promised freshness, e.g. `1h`.
    pub freshness_sla: Option<String>,
    /// Fields in order.
    pub fields: Vec<Field>,
}

/// One column.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Field {
    /// Column name.
    pub name: String,
    /// Logical type (`utf8`, `float64`, `int64`, `timestamp_ns_utc`), or
    /// `text` for columns kept verbatim, `unknown` when not declared.
    #[serde(rename = "type")]
    pub ty: String,
    /// Nulls allowed.
    pub nullable: bool,
    /// A `<amount>_<unit>` unit field.
    pub unit: bool,
    /// Closed domain of allowed values.
    pub domain: Option<Vec<String>>,
    /// Smallest allowed value.
    pub min: Option<f64>,
    /// Largest allowed value.
    pub max: Option<f64>,
    /// What it means.
    pub glossary: String,
    /// Effective classification (the field's own, else its dataset's).
    pub classification: Classification,
    /// Personal data: only roles holding the `pii` grant may read it.
    pub pii: bool,
}

impl Field {
    /// A field of a category schema, with its effective classification.
    pub fn of(schema: &CategorySchema, f: &FieldSpec) -> Self {
        let classification = schema.classification_of(f);
        Self {
            name: f.name.clone(),
            ty: f.ty.name().to_string(),
            nullable: f.nullable,
            unit: f.unit,
            domain: f.domain.clone(),
            min: f.min,
            max: f.max,
            glossary: f.glossary.clone(),
            classification,
            pii: classification == Classification::Pii,
        }
    }

    /// A column known only by name and meaning.
    pub fn plain(name: &str, ty: &str, glossary: impl Into<String>, c: Classification) -> Self {
        Self {
            name: name.to_string(),
            ty: ty.to_string(),
            nullable: true,
            unit: false,
            domain: None,
            min: None,
            max: None,
            glossary: glossary.into(),
            classification: c,
            pii: c == Classification::Pii,
        }
    }
}

impl Category {
    /// The catalogue entry of a category schema.
    pub fn of(s: &CategorySchema) -> Self {
        Self {
            name: s.name.clone(),
            version: s.version,
            description: s.description.clone(),
            identifier: s.identifier.clone(),
            timestamp: s.timestamp.clone(),
            unique_key: s.unique_key.clone(),
            owner: s.owner.clone(),
            classification: s.classification,
            freshness_sla: s.freshness_sla.clone(),
            fields: s.fields.iter().map(|f| Field::of(s, f)).collect(),
        }
    }
}

/// A pipeline file.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineEntry {
    /// `pipeline.name`.
    pub name: String,
    /// The file.
    pub file: String,
    /// Its components in file order.
    pub components: Vec<ComponentEntry>,
}

/// One source, transform or sink of a pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentEntry {
    /// Component id.
    pub id: String,
    /// `source`, `transform` or `sink`.
    pub kind: String,
    /// `type = "..."`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// `inputs`.
    pub inputs: Vec<String>,
    /// Options with secrets replaced by `***` and unset `${NAME}` kept as written.
    pub options: serde_json::Value,
    /// Its lineage node id.
    pub node: String,
}

/// Where a physical dataset lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Store {
    /// The Postgres warehouse.
    Postgres,
    /// The ClickHouse realtime store.
    Clickhouse,
    /// Apache Iceberg tables.
    Iceberg,
    /// Kafka topics.
    Kafka,
    /// Files written by the `file` sink.
    Files,
    /// The raw-object lake.
    Lake,
    /// qdp's disk buffer.
    DiskBuffer,
    /// A sink type the catalogue does not know.
    Other,
}

impl Store {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Store::Postgres => "postgres",
            Store::Clickhouse => "clickhouse",
            Store::Iceberg => "iceberg",
            Store::Kafka => "kafka",
            Store::Files => "files",
            Store::Lake => "lake",
            Store::DiskBuffer => "disk_buffer",
            Store::Other => "other",
        }
    }
}

/// A physical dataset.
#[derive(Debug, Clone, Serialize)]
pub struct Dataset {
    /// Unique id, also its lineage node id: `<store>:<name>`.
    pub id: String,
    /// Where it lives.
    pub store: Store,
    /// `table`, `view`, `topic`, `folder`, `buffer`.
    pub kind: String,
    /// Its name in the store: `silver.client_accounts`, `qdp.derivatives_tick_market_data`,
    /// `history.numeric_economic_data`, a topic, a folder.
    pub name: String,
    /// The server, database, catalog or path it is in (credentials removed).
    pub location: String,
    /// `raw`, `bronze`, `silver`, `gold`, `ops`, `realtime`, `history`, `buffer`.
    pub layer: String,
    /// The category schema it implements, if any.
    pub category: Option<String>,
    /// What it holds.
    pub description: String,
    /// The team answering for it.
    pub owner: Option<String>,
    /// Sensitivity.
    pub classification: Classification,
    /// Promised freshness.
    pub freshness_sla: Option<String>,
    /// Columns, when known without a server.
    pub fields: Vec<Field>,
    /// Pipelines that write or create it.
    pub pipelines: Vec<String>,
    /// Datasets directly upstream (through processors), by id.
    pub upstream: Vec<String>,
    /// Datasets directly downstream, by id.
    pub downstream: Vec<String>,
    /// Source systems it comes from, by node id.
    pub source_systems: Vec<String>,
}

impl Dataset {
    /// Names of the fields classified `pii`.
    pub fn pii_fields(&self) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|f| f.pii)
            .map(|f| f.name.as_str())
            .collect()
    }
}

/// What a lineage node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// An external system: a publisher's API, a folder, a feed.
    SourceSystem,
    /// A pipeline source component.
    Connector,
    /// A disk buffer or a Kafka topic between components.
    Buffer,
    /// A transform or sink of a pipeline (or the runtime's own bookkeeping).
    Processor,
    /// A table, view, folder or the lake.
    Dataset,
}

impl NodeKind {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::SourceSystem => "source_system",
            NodeKind::Connector => "connector",
            NodeKind::Buffer => "buffer",
            NodeKind::Processor => "processor",
            NodeKind::Dataset => "dataset",
        }
    }
}

/// A lineage node.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// Unique id: `system:<name>`, `<pipeline>/<component>`, or a dataset id.
    pub id: String,
    /// What it is.
    pub kind: NodeKind,
    /// Shown name.
    pub label: String,
    /// More about it (component type, URL, path).
    pub detail: String,
    /// The pipeline it belongs to, if any.
    pub pipeline: Option<String>,
}

/// A lineage edge: data flows from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Edge {
    /// Upstream node id.
    pub from: String,
    /// Downstream node id.
    pub to: String,
    /// The categories carried, comma-separated (or `creates`, `derives`).
    pub label: String,
}

/// One line of the source → category field dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DictEntry {
    /// Pipeline name.
    pub pipeline: String,
    /// The connector or `map` transform that fills the field.
    pub component: String,
    /// The source system node the value comes from.
    pub source_system: String,
    /// Target category.
    pub category: String,
    /// Target field.
    pub field: String,
    /// Where the value comes from, in the source's terms.
    pub from: String,
    /// Conversion or caveat.
    pub note: Option<String>,
}
