//! Owner, classification, freshness and fields of each dataset.
//!
//! * A dataset implementing a category schema takes the schema's owner,
//!   classification and SLA, and its fields (rejects: every field as text
//!   plus the reason, classified like the schema, PII flagged).
//! * A dataset of rows that are not yet category rows (bronze tables, raw
//!   topics, the lake, connector rejects) is as sensitive as what its rows
//!   become: the category a `map` turns them into (its columns classified
//!   like the fields they fill, so a bronze e-mail column is flagged PII),
//!   else every category its source feeds; `internal` when there is none.
//! * A gold view takes the highest classification of what it reads, and
//!   each column the classification of the same-named upstream column.

use crate::build::{Builder, mapped_categories};
use crate::datasets::SinkDataset;
use crate::dictionary::map_columns;
use crate::flow::{Flow, Stream};
use crate::gold::GoldRelation;
use crate::model::{Dataset, Field, Store};
use qdp_core::config::PipelineConfig;
use qdp_sdk::schema::{CategorySchema, Classification, registry};

/// A new catalogue entry for `d`, filled from its category schema if it has one.
pub fn new_dataset(id: &str, d: &SinkDataset, pipeline: &str) -> Dataset {
    let mut x = Dataset {
        id: id.to_string(),
        store: d.store,
        kind: d.kind.to_string(),
        name: d.name.clone(),
        location: d.location.clone(),
        layer: d.layer.to_string(),
        category: d.category.clone(),
        description: d.description.clone(),
        owner: None,
        classification: Classification::Internal,
        freshness_sla: None,
        fields: Vec::new(),
        pipelines: vec![pipeline.to_string()],
        upstream: Vec::new(),
        downstream: Vec::new(),
        source_systems: Vec::new(),
    };
    if let Some(s) = d.category.as_deref().and_then(|c| registry().get(c)) {
        x.owner = s.owner.clone();
        x.classification = s.classification;
        x.freshness_sla = s.freshness_sla.clone();
        x.fields = if d.name.ends_with("_unqualified") {
            reject_fields(s)
        } else {
            s.fields.iter().map(|f| Field::of(s, f)).collect()
        };
        let c = s.classification;
        let extra: &[(&str, &str, &str)] = match (d.store, d.kind) {
            (Store::Postgres, "table") => &[
                (
                    "source_table_name",
                    "utf8",
                    "`<origin>.<category>`: the component output the row came from",
                ),
                (
                    "platform_worker_name",
                    "utf8",
                    "The host that loaded the row",
                ),
                (
                    "loaded_at",
                    "timestamp_ns_utc",
                    "When the warehouse stored the row (microseconds)",
                ),
            ],
            (Store::Clickhouse, _) => &[(
                "ingestion_time_realtime_store",
                "timestamp_ns_utc",
                "When the realtime store received the row; the newest copy of a key wins",
            )],
            _ => &[],
        };
        for (n, t, g) in extra {
            x.fields.push(Field::plain(n, t, *g, c));
        }
    }
    x
}

fn reject_fields(s: &CategorySchema) -> Vec<Field> {
    let mut v: Vec<Field> = s
        .fields
        .iter()
        .map(|f| {
            let mut x = Field::of(s, f);
            x.ty = "text".into();
            x.nullable = true;
            x
        })
        .collect();
    v.push(Field::plain(
        "unqualified_reason",
        "utf8",
        "Why the row does not fit its category schema",
        s.classification,
    ));
    v
}

fn get<'a>(b: &'a mut Builder<'_>, id: &str) -> Option<&'a mut Dataset> {
    b.cat.datasets.iter_mut().find(|d| d.id == id)
}

/// Dataset `id` is written with stream `s` of pipeline `cfg`.
pub fn written(b: &mut Builder<'_>, id: &str, cfg: &PipelineConfig, flow: &Flow, s: &Stream) {
    if crate::datasets::schema_of(&s.category).is_some() {
        return;
    }
    let base = Stream {
        category: s.category.trim_end_matches("_unqualified").to_string(),
        origin: s.origin.clone(),
    };
    let maps = mapped_categories(cfg, flow, &base);
    let as_text = b
        .cat
        .datasets
        .iter()
        .any(|d| d.id == id && d.store == Store::Postgres);
    let mut fields = Vec::new();
    let cats: Vec<String> = if maps.is_empty() {
        flow.schemas_from(&s.origin)
    } else {
        for (cat, m) in &maps {
            let Some(schema) = registry().get(cat) else {
                continue;
            };
            for (col, field) in map_columns(&m.options) {
                if let Some(f) = schema.field(&field) {
                    let mut x = Field::of(schema, f);
                    x.name = col.clone();
                    x.ty = if as_text { "text" } else { "as received" }.into();
                    x.nullable = true;
                    x.glossary = format!(
                        "Source column mapped by `{}` onto `{cat}.{field}`: {}",
                        m.id, f.glossary
                    );
                    fields.push(x);
                }
            }
        }
        maps.into_iter().map(|(c, _)| c).collect()
    };
    let schemas: Vec<&CategorySchema> = cats.iter().filter_map(|c| registry().get(c)).collect();
    let level = schemas
        .iter()
        .map(|s| s.classification)
        .max()
        .unwrap_or_default();
    let owners: Vec<&String> = schemas.iter().filter_map(|s| s.owner.as_ref()).collect();
    let Some(d) = get(b, id) else { return };
    d.classification = d.classification.max(level);
    // Whole documents (lake objects, raw_object rows) have no columns to
    // flag: the document is as sensitive as the most sensitive field in it.
    let whole = d.store == Store::Lake || s.category == "raw_object";
    if whole && schemas.iter().any(|s| s.pii_fields().next().is_some()) {
        d.classification = Classification::Pii;
    }
    if d.owner.is_none() && !owners.is_empty() && owners.iter().all(|o| *o == owners[0]) {
        d.owner = Some(owners[0].clone());
    }
    if !(d.store == Store::Lake || s.category == "raw_object") {
        for f in fields {
            if !d.fields.iter().any(|x| x.name == f.name) {
                d.fields.push(f);
            }
        }
    }
}

/// Adds gold relation `g` of the warehouse at `location` and its lineage.
pub fn gold_view(b: &mut Builder<'_>, g: &GoldRelation, location: &str, pipeline: &str) {
    let mut upstream = Vec::new();
    for r in &g.reads {
        let id = match b.find(Store::Postgres, location, r) {
            Some(id) => id,
            None => {
                b.note(format!(
                    "{pipeline}: {} reads `{r}`, which no catalogued pipeline writes",
                    g.name
                ));
                let layer = if r.starts_with("gold.") {
                    "gold"
                } else {
                    "other"
                };
                let d = SinkDataset {
                    store: Store::Postgres,
                    kind: "table",
                    name: r.clone(),
                    location: location.to_string(),
                    layer,
                    category: None,
                    description: format!(
                        "read by {}; not written by a catalogued pipeline",
                        g.name
                    ),
                };
                b.dataset(&d, pipeline)
            }
        };
        upstream.push(id);
    }
    let kind = match g.kind.as_str() {
        "table" => "table",
        "materialized view" => "materialized view",
        _ => "view",
    };
    let description = if g.description.is_empty() {
        format!("created by {}", g.file)
    } else {
        format!("{} (created by {})", g.description, g.file)
    };
    let d = SinkDataset {
        store: Store::Postgres,
        kind,
        name: g.name.clone(),
        location: location.to_string(),
        layer: "gold",
        category: None,
        description,
    };
    let id = b.dataset(&d, pipeline);
    for u in &upstream {
        b.add_edge(u, &id, "derives");
    }
    let ups: Vec<Dataset> = b
        .cat
        .datasets
        .iter()
        .filter(|d| upstream.contains(&d.id))
        .cloned()
        .collect();
    let level = ups
        .iter()
        .map(|d| d.classification)
        .max()
        .unwrap_or_default();
    let owners: Vec<&String> = ups.iter().filter_map(|d| d.owner.as_ref()).collect();
    let slas: Vec<&String> = ups
        .iter()
        .filter_map(|d| d.freshness_sla.as_ref())
        .collect();
    let fields: Vec<Field> = g
        .columns
        .iter()
        .map(|c| {
            ups.iter()
                .find_map(|u| u.fields.iter().find(|f| f.name == *c).cloned())
                .unwrap_or_else(|| {
                    Field::plain(c, "unknown", format!("computed in {}", g.file), level)
                })
        })
        .collect();
    let Some(x) = get(b, &id) else { return };
    x.classification = level;
    x.fields = fields;
    if !owners.is_empty() && owners.iter().all(|o| *o == owners[0]) {
        x.owner = Some(owners[0].clone());
    }
    if !slas.is_empty() && slas.iter().all(|o| *o == slas[0]) {
        x.freshness_sla = Some(slas[0].clone());
    }
}
