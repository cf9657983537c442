//! Walking pipeline files into the lineage graph: source systems →
//! connectors → buffers and topics → processors → datasets, and gold views
//! derived from the warehouse tables they read.

use crate::classify;
use crate::datasets::{SinkDataset, created_by, runtime_tables, written_for};
use crate::error::CatalogError;
use crate::flow::{Flow, Stream};
use crate::gold;
use crate::load::read_pipeline;
use crate::model::*;
use crate::redact::{redact_options, redact_text};
use qdp_core::Registry;
use qdp_core::config::{ComponentConfig, Kind, PipelineConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod sources;

/// What the catalogue is built from.
pub struct Sources<'a> {
    /// Pipeline files.
    pub pipelines: Vec<PathBuf>,
    /// A gold SQL folder used instead of each Postgres sink's `gold_sql_dir`.
    pub gold_sql: Option<PathBuf>,
    /// Component types, with plugins loaded, for their declared dictionaries.
    pub registry: &'a Registry,
}

pub(crate) struct Builder<'a> {
    pub cat: Catalog,
    registry: &'a Registry,
    ids: BTreeMap<(Store, String, String), String>,
    edges: BTreeSet<Edge>,
    /// (dataset, connector node the rows started at, category) of every write.
    writes: Vec<crate::graph::Write>,
}

/// Builds the catalogue.
pub fn build(src: &Sources<'_>) -> Result<Catalog, CatalogError> {
    let mut b = Builder {
        cat: Catalog {
            qdp_version: env!("CARGO_PKG_VERSION").to_string(),
            categories: qdp_sdk::schema::registry()
                .all()
                .map(Category::of)
                .collect(),
            ..Catalog::default()
        },
        registry: src.registry,
        ids: BTreeMap::new(),
        edges: BTreeSet::new(),
        writes: Vec::new(),
    };
    for p in &src.pipelines {
        let cfg = read_pipeline(p)?;
        b.pipeline(&cfg, src.gold_sql.as_deref())?;
    }
    b.cat.edges = b.edges.into_iter().collect();
    crate::graph::link(&mut b.cat, &b.writes);
    Ok(b.cat)
}

impl Builder<'_> {
    fn node(
        &mut self,
        id: &str,
        kind: NodeKind,
        label: &str,
        detail: &str,
        pipeline: Option<&str>,
    ) {
        if !self.cat.nodes.iter().any(|n| n.id == id) {
            self.cat.nodes.push(Node {
                id: id.to_string(),
                kind,
                label: label.to_string(),
                detail: detail.to_string(),
                pipeline: pipeline.map(str::to_string),
            });
        }
    }

    fn edge(&mut self, from: &str, to: &str, label: &str) {
        // One edge per pair: labels of several categories are merged.
        if let Some(e) = self
            .edges
            .iter()
            .find(|e| e.from == from && e.to == to)
            .cloned()
        {
            if e.label.split(", ").any(|l| l == label) || label == "creates" {
                return;
            }
            self.edges.remove(&e);
            let label = if e.label == "creates" {
                label.to_string()
            } else {
                format!("{}, {label}", e.label)
            };
            self.edges.insert(Edge { label, ..e });
        } else {
            self.edges.insert(Edge {
                from: from.to_string(),
                to: to.to_string(),
                label: label.to_string(),
            });
        }
    }

    /// The dataset's id, adding it (and its node) the first time.
    pub(crate) fn dataset(&mut self, d: &SinkDataset, pipeline: &str) -> String {
        let key = (d.store, d.location.clone(), d.name.clone());
        if let Some(id) = self.ids.get(&key).cloned() {
            if let Some(x) = self.cat.datasets.iter_mut().find(|x| x.id == id)
                && !x.pipelines.iter().any(|p| p == pipeline)
            {
                x.pipelines.push(pipeline.to_string());
            }
            return id;
        }
        let base = format!("{}:{}", d.store.name(), d.name);
        let mut id = base.clone();
        let mut n = 2;
        while self.ids.values().any(|v| *v == id) {
            id = format!("{base}@{n}");
            n += 1;
        }
        self.ids.insert(key, id.clone());
        let label = format!("{} {}", d.store.name(), d.name);
        let detail = format!("{} in {}", d.kind, d.location);
        self.node(&id, NodeKind::Dataset, &label, &detail, None);
        self.cat
            .datasets
            .push(classify::new_dataset(&id, d, pipeline));
        id
    }

    fn pipeline(
        &mut self,
        cfg: &PipelineConfig,
        gold_override: Option<&Path>,
    ) -> Result<(), CatalogError> {
        let flow = Flow::of(cfg);
        let name = cfg.name.clone();
        let mut entry = PipelineEntry {
            name: name.clone(),
            file: cfg.file.display().to_string(),
            components: Vec::new(),
        };
        // The node data leaves a component from: its buffer, if it has one.
        let mut out_node: BTreeMap<String, String> = BTreeMap::new();
        for c in &cfg.components {
            let id = format!("{name}/{}", c.id);
            let kind = if c.kind == Kind::Source {
                NodeKind::Connector
            } else {
                NodeKind::Processor
            };
            self.node(
                &id,
                kind,
                &format!("{name}/{}", c.id),
                &format!("{} `{}`", c.kind, c.type_name),
                Some(&name),
            );
            entry.components.push(ComponentEntry {
                id: c.id.clone(),
                kind: c.kind.to_string(),
                type_name: c.type_name.clone(),
                inputs: c.inputs.iter().map(|(i, _)| i.to_string()).collect(),
                options: redact_options(&c.options),
                node: id.clone(),
            });
            let out = match &c.buffer {
                Some(b) => {
                    let dir = b
                        .dir
                        .clone()
                        .unwrap_or_else(|| cfg.data_dir.join("buffers").join(&c.id));
                    let bid = format!("buffer:{}", dir.display());
                    self.node(
                        &bid,
                        NodeKind::Buffer,
                        &format!("disk buffer {}", dir.display()),
                        "qdp disk buffer (durable, replayable)",
                        Some(&name),
                    );
                    self.edge(&id, &bid, "all outputs");
                    bid
                }
                None => id.clone(),
            };
            out_node.insert(c.id.clone(), out);
        }
        for c in &cfg.components {
            let id = format!("{name}/{}", c.id);
            for (input, _) in &c.inputs {
                let from = out_node
                    .get(&input.component)
                    .cloned()
                    .unwrap_or_else(|| format!("{name}/{}", input.component));
                let cats: Vec<&str> = flow
                    .on(input)
                    .iter()
                    .map(|s| s.category.as_str())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                self.edge(&from, &id, &cats.join(", "));
            }
            match c.kind {
                Kind::Source => self.source(cfg, c, &id),
                Kind::Transform => self.transform(cfg, &flow, c),
                Kind::Sink => self.sink(cfg, &flow, c, &id, gold_override)?,
            }
        }
        let state = runtime_tables(cfg);
        if !state.is_empty() {
            let rid = format!("{name}/(runtime state)");
            self.node(
                &rid,
                NodeKind::Processor,
                &rid,
                "the runtime's checkpoints, marks and release SLA rows",
                Some(&name),
            );
            for c in cfg.components.iter().filter(|c| c.kind == Kind::Source) {
                self.edge(&format!("{name}/{}", c.id), &rid, "checkpoints");
            }
            for d in &state {
                let did = self.dataset(d, &name);
                self.edge(&rid, &did, "writes");
                for c in cfg.components.iter().filter(|c| c.kind == Kind::Source) {
                    self.writes.push(crate::graph::Write {
                        dataset: did.clone(),
                        connector: format!("{name}/{}", c.id),
                        category: "checkpoints".into(),
                    });
                }
            }
        }
        self.cat.pipelines.push(entry);
        Ok(())
    }

    fn sink(
        &mut self,
        cfg: &PipelineConfig,
        flow: &Flow,
        c: &ComponentConfig,
        id: &str,
        gold_override: Option<&Path>,
    ) -> Result<(), CatalogError> {
        for s in flow.input(c) {
            let written = written_for(cfg, c, &s);
            if written.is_empty() && c.type_name != "stdout" {
                self.cat.notes.push(format!(
                    "{}: sink `{}` (`{}`) writes no dataset for category `{}`",
                    cfg.name, c.id, c.type_name, s.category
                ));
            }
            for d in written {
                let did = self.dataset(&d, &cfg.name);
                self.edge(id, &did, &s.category);
                self.writes.push(crate::graph::Write {
                    dataset: did.clone(),
                    connector: format!("{}/{}", cfg.name, s.origin),
                    category: s.category.clone(),
                });
                classify::written(self, &did, cfg, flow, &s);
            }
        }
        for d in created_by(c) {
            let did = self.dataset(&d, &cfg.name);
            self.edge(id, &did, "creates");
        }
        if c.type_name == "postgres" {
            let dir = gold_override.map(Path::to_path_buf).or_else(|| {
                let d = c.options.get("gold_sql_dir")?.as_str()?;
                Some(resolve_dir(cfg, d))
            });
            if let Some(dir) = dir {
                let url = c.options.get("url").and_then(|v| v.as_str()).unwrap_or("");
                for g in gold::read_dir(&dir)? {
                    classify::gold_view(self, &g, &redact_text(url), &cfg.name);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn add_edge(&mut self, from: &str, to: &str, label: &str) {
        self.edge(from, to, label);
    }

    pub(crate) fn find(&self, store: Store, location: &str, name: &str) -> Option<String> {
        self.ids
            .get(&(store, location.to_string(), name.to_string()))
            .cloned()
    }

    pub(crate) fn note(&mut self, n: String) {
        self.cat.notes.push(n);
    }
}

/// A relative folder of a pipeline: from the working directory, else from
/// the folders above the pipeline file (examples name paths from the checkout's root).
fn resolve_dir(cfg: &PipelineConfig, d: &str) -> PathBuf {
    let p = PathBuf::from(d);
    if p.is_absolute() || p.exists() {
        return p;
    }
    let mut dir = cfg.file.parent();
    while let Some(x) = dir {
        if x.join(&p).exists() {
            return x.join(&p);
        }
        dir = x.parent();
    }
    p
}

/// For `classify`: the streams a component passes on, from the flow.
pub(crate) fn mapped_categories(
    cfg: &PipelineConfig,
    flow: &Flow,
    s: &Stream,
) -> Vec<(String, ComponentConfig)> {
    cfg.components
        .iter()
        .filter(|c| c.type_name == "map" && flow.input(c).contains(s))
        .filter_map(|c| {
            let cat = c.options.get("category")?.as_str()?.to_string();
            Some((cat, c.clone()))
        })
        .collect()
}
