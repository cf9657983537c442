//! Sources and `map` transforms in the graph: the external system behind
//! each connector, the topics a Kafka source reads, and the source →
//! category field dictionary (declared by the connector, implied by a `map`).

use super::Builder;
use crate::datasets::{SinkDataset, schema_of, source_system_name};
use crate::dictionary;
use crate::flow::Flow;
use crate::model::{DictEntry, NodeKind, Store};
use crate::redact::redact_text;
use crate::sources;
use qdp_core::config::{ComponentConfig, Kind, PipelineConfig};
use std::collections::BTreeSet;

impl Builder<'_> {
    pub(super) fn source(&mut self, cfg: &PipelineConfig, c: &ComponentConfig, id: &str) {
        let spec = sources::describe(c);
        if !spec.known {
            self.cat.notes.push(format!(
                "{}: source `{}` has type `{}`, which the catalogue does not know: its outputs are named after the ports the pipeline reads",
                cfg.name, c.id, c.type_name
            ));
        }
        let ports: BTreeSet<&str> = spec.ports.iter().map(|(_, cat)| cat.as_str()).collect();
        let label = ports.into_iter().collect::<Vec<_>>().join(", ");
        let mut system_id = String::new();
        if let Some(s) = &spec.system {
            system_id = format!("system:{}", s.name);
            self.node(
                &system_id,
                NodeKind::SourceSystem,
                &s.label,
                &format!("{} ({})", s.detail, s.name),
                None,
            );
            self.edge(&system_id, id, &label);
        }
        for (topic, cat) in &spec.topics {
            let brokers = c
                .options
                .get("brokers")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            let d = SinkDataset {
                store: Store::Kafka,
                kind: "topic",
                name: topic.clone(),
                location: redact_text(brokers),
                layer: "buffer",
                category: schema_of(cat),
                description: format!("`{cat}` rows"),
            };
            let did = self.dataset(&d, &cfg.name);
            self.edge(&did, id, cat);
        }
        if let Some(t) = self.registry.get_kind(&c.type_name, Kind::Source) {
            for f in t.dictionary.clone() {
                self.cat.dictionary.push(DictEntry {
                    pipeline: cfg.name.clone(),
                    component: c.id.clone(),
                    source_system: system_id.clone(),
                    category: f.category,
                    field: f.field,
                    from: f.from,
                    note: f.note,
                });
            }
        }
    }

    pub(super) fn transform(&mut self, cfg: &PipelineConfig, flow: &Flow, c: &ComponentConfig) {
        if c.type_name != "map" {
            return;
        }
        let origins: BTreeSet<String> = flow.input(c).into_iter().map(|s| s.origin).collect();
        let systems: Vec<String> = origins
            .iter()
            .map(|o| format!("system:{}", source_system_name(cfg, o)))
            .collect();
        match dictionary::of_map(&c.options) {
            Ok(lines) => {
                for f in lines {
                    self.cat.dictionary.push(DictEntry {
                        pipeline: cfg.name.clone(),
                        component: c.id.clone(),
                        source_system: systems.join(", "),
                        category: f.category,
                        field: f.field,
                        from: f.from,
                        note: f.note,
                    });
                }
            }
            Err(e) => self
                .cat
                .notes
                .push(format!("{}: map `{}`: {e}", cfg.name, c.id)),
        }
    }
}
