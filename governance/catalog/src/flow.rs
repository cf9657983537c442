//! Which categories flow on each output port of a pipeline, and from which
//! source they originate, worked out from the file alone: sources by their
//! type ([`crate::sources`]), `map` by its `category`, `validate` and other
//! transforms by what they receive (their rejects as `<category>_unqualified`).

use crate::sources;
use qdp_core::config::{ComponentConfig, InputRef, Kind, PipelineConfig};
use std::collections::BTreeMap;

/// Rows of one category from one source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stream {
    /// Batch category.
    pub category: String,
    /// Id of the source component the rows started at.
    pub origin: String,
}

/// The streams of every (component, port) of a pipeline.
#[derive(Debug, Default)]
pub struct Flow {
    ports: BTreeMap<(String, Option<String>), Vec<Stream>>,
}

impl Flow {
    /// Works the flow out for `cfg`.
    pub fn of(cfg: &PipelineConfig) -> Self {
        let mut f = Flow::default();
        for c in cfg.components.iter().filter(|c| c.kind == Kind::Source) {
            let spec = sources::describe(c);
            let mut ports = spec.ports;
            if !spec.known {
                // Unknown type: the ports the pipeline reads, named as they are.
                for (i, _) in cfg.components.iter().flat_map(|d| &d.inputs) {
                    if i.component == c.id {
                        let cat = i.port.clone().unwrap_or_else(|| c.id.clone());
                        ports.push((i.port.clone(), cat));
                    }
                }
            }
            for (port, category) in ports {
                let s = Stream {
                    category,
                    origin: c.id.clone(),
                };
                let v = f.ports.entry((c.id.clone(), port)).or_default();
                if !v.contains(&s) {
                    v.push(s);
                }
            }
        }
        // Transforms may be listed before their inputs: repeat until stable.
        for _ in 0..=cfg.components.len() {
            let mut changed = false;
            for c in cfg.components.iter().filter(|c| c.kind == Kind::Transform) {
                let input = f.input(c);
                for (port, streams) in transform_outputs(c, &input) {
                    let v = f.ports.entry((c.id.clone(), port)).or_default();
                    for s in streams {
                        if !v.contains(&s) {
                            v.push(s);
                            changed = true;
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
        f
    }

    /// The streams on `input`.
    pub fn on(&self, input: &InputRef) -> &[Stream] {
        self.ports
            .get(&(input.component.clone(), input.port.clone()))
            .map_or(&[], Vec::as_slice)
    }

    /// Every category schema rows from source `origin` become in this
    /// pipeline (through any transform), rejects counted as their schema.
    pub fn schemas_from(&self, origin: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .ports
            .values()
            .flatten()
            .filter(|s| s.origin == origin)
            .filter_map(|s| crate::datasets::schema_of(&s.category))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Everything `c` receives, in input order, without repeats.
    pub fn input(&self, c: &ComponentConfig) -> Vec<Stream> {
        let mut out: Vec<Stream> = Vec::new();
        for (i, _) in &c.inputs {
            for s in self.on(i) {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
        }
        out
    }
}

/// The output ports of transform `c` given what it receives.
fn transform_outputs(c: &ComponentConfig, input: &[Stream]) -> Vec<(Option<String>, Vec<Stream>)> {
    let with = |cat: &str, s: &Stream| Stream {
        category: cat.to_string(),
        origin: s.origin.clone(),
    };
    let rejects: Vec<Stream>;
    let main: Vec<Stream>;
    if c.type_name == "map" {
        let cat = c
            .options
            .get("category")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        main = input.iter().map(|s| with(cat, s)).collect();
        rejects = input
            .iter()
            .map(|s| with(&format!("{cat}_unqualified"), s))
            .collect();
    } else {
        main = input.to_vec();
        rejects = input
            .iter()
            .filter(|s| !s.category.ends_with("_unqualified"))
            .map(|s| with(&format!("{}_unqualified", s.category), s))
            .collect();
    }
    vec![
        (None, dedup(main)),
        (Some("unqualified".into()), dedup(rejects)),
    ]
}

fn dedup(mut v: Vec<Stream>) -> Vec<Stream> {
    v.sort();
    v.dedup();
    v
}
