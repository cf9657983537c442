//! Checking a pipeline against its components before anything runs, and
//! building the graph the runtime executes.
//!
//! Every check reports a [`ConfigError`] with file, line, key and fix:
//! unknown types, a component in the wrong section, options that break the
//! component's JSON Schema or its own validation, dangling inputs and ports,
//! cycles, and outputs whose category a sink does not accept.

use crate::component::Instance;
use crate::config::{
    ComponentConfig, ConfigError, ConfigErrors, InputRef, Kind, Loc, PipelineConfig, closest,
};
use crate::registry::{ComponentType, Registry};
use qdp_sdk::{Accepts, Context, ErrorDomain, OutputDecl, PluginError};
use std::collections::{BTreeMap, BTreeSet};

/// A component ready to run.
pub struct Node {
    /// Its configuration.
    pub config: ComponentConfig,
    /// Its type.
    pub ty: ComponentType,
    /// The instance built during planning (sources and sinks are not started yet).
    pub instance: Option<Instance>,
    /// What it emits (sources and transforms).
    pub outputs: Vec<OutputDecl>,
}

/// A checked pipeline: nodes in topological order.
pub struct Plan {
    /// The configuration it came from.
    pub config: PipelineConfig,
    /// Components, producers before consumers.
    pub nodes: Vec<Node>,
    /// Non-fatal findings, such as a reject port nobody reads.
    pub warnings: Vec<String>,
}

struct Checker {
    errors: Vec<ConfigError>,
}

impl Checker {
    fn err(
        &mut self,
        loc: &Loc,
        key: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.errors.push(ConfigError {
            loc: loc.clone(),
            key: key.into(),
            message: message.into(),
            fix: fix.into(),
        });
    }
}

/// The context a component is created with.
pub fn context_for(cfg: &PipelineConfig, c: &ComponentConfig) -> Context {
    Context {
        pipeline: cfg.name.clone(),
        component_id: c.id.clone(),
        data_dir: Some(cfg.data_dir.join("components").join(&c.id)),
    }
}

/// Checks `cfg` against `registry` and builds the graph.
pub async fn plan(cfg: PipelineConfig, registry: &Registry) -> Result<Plan, ConfigErrors> {
    let mut ck = Checker { errors: Vec::new() };
    let ids: BTreeMap<&str, &ComponentConfig> =
        cfg.components.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut seen = BTreeSet::new();
    for c in &cfg.components {
        if !seen.insert(c.id.as_str()) {
            ck.err(
                &c.loc,
                c.key(),
                format!("id `{}` is used twice", c.id),
                "give every source, transform and sink its own id",
            );
        }
    }
    // Types, sections and option schemas.
    let mut types: BTreeMap<&str, ComponentType> = BTreeMap::new();
    for c in &cfg.components {
        if c.type_name.is_empty() {
            continue;
        }
        let Some(ty) = registry
            .get_kind(&c.type_name, c.kind)
            .or_else(|| registry.get(&c.type_name))
        else {
            let names: Vec<&str> = registry.all().map(|t| t.name.as_str()).collect();
            let fix = match closest(&c.type_name, names.iter().copied()) {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!(
                    "known types: {}; plugins are searched in {}",
                    names.join(", "),
                    registry
                        .searched
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let refused: Vec<String> = registry
                .refused
                .iter()
                .map(|(p, why)| format!("{} ({why})", p.display()))
                .collect();
            let fix = if refused.is_empty() {
                fix
            } else {
                format!("{fix}; plugin libraries refused: {}", refused.join("; "))
            };
            ck.err(
                &c.type_loc,
                format!("{}.type", c.key()),
                format!("unknown component type `{}`", c.type_name),
                fix,
            );
            continue;
        };
        if ty.kind != c.kind {
            ck.err(
                &c.type_loc,
                format!("{}.type", c.key()),
                format!(
                    "`{}` is a {}, but it is declared under [{}]",
                    ty.name,
                    ty.kind,
                    c.section()
                ),
                format!(
                    "move it to [{}.{}]",
                    crate::config::section_of(ty.kind),
                    c.id
                ),
            );
            continue;
        }
        check_options(&mut ck, c, ty);
        types.insert(c.id.as_str(), ty.clone());
    }
    // Inputs.
    for c in &cfg.components {
        for (input, loc) in &c.inputs {
            match ids.get(input.component.as_str()) {
                None => {
                    let producers = cfg
                        .components
                        .iter()
                        .filter(|p| p.kind != Kind::Sink)
                        .map(|p| p.id.as_str());
                    let fix = match closest(&input.component, producers) {
                        Some(n) => format!("did you mean `{n}`?"),
                        None => "name a source or transform of this pipeline".into(),
                    };
                    ck.err(
                        loc,
                        format!("{}.inputs", c.key()),
                        format!("input `{input}` does not exist"),
                        fix,
                    );
                }
                Some(p) if p.kind == Kind::Sink => {
                    ck.err(
                        loc,
                        format!("{}.inputs", c.key()),
                        format!("input `{input}` is a sink, which has no output"),
                        "name a source or transform",
                    );
                }
                Some(_) if input.component == c.id => {
                    ck.err(
                        loc,
                        format!("{}.inputs", c.key()),
                        "a component cannot read its own output",
                        "remove it from its inputs",
                    );
                }
                _ => {}
            }
        }
    }
    let order = match topo_order(&cfg) {
        Ok(o) => o,
        Err(cycle) => {
            let first = cfg.components.iter().find(|c| c.id == cycle[0]);
            let loc = first.map(|c| c.loc.clone()).unwrap_or_default();
            ck.err(
                &loc,
                format!("transforms.{}", cycle[0]),
                format!("inputs form a cycle: {}", cycle.join(" -> ")),
                "break the cycle: a pipeline must flow from sources to sinks",
            );
            Vec::new()
        }
    };
    if !ck.errors.is_empty() {
        return Err(ConfigErrors(ck.errors));
    }
    // Instantiate in order and propagate declarations.
    let mut nodes: Vec<Node> = Vec::new();
    let mut decls: BTreeMap<String, Vec<OutputDecl>> = BTreeMap::new();
    for idx in order {
        let c = &cfg.components[idx];
        let Some(ty) = types.get(c.id.as_str()) else {
            continue;
        };
        let mut instance = match ty.instantiate(&c.options, &context_for(&cfg, c)) {
            Ok(i) => i,
            Err(e) => {
                plugin_error(&mut ck, c, &e);
                continue;
            }
        };
        let mut inputs = Vec::new();
        for (input, loc) in &c.inputs {
            let Some(outs) = decls.get(&input.component) else {
                continue;
            };
            let on_port: Vec<_> = outs
                .iter()
                .filter(|d| d.port == input.port)
                .cloned()
                .collect();
            if on_port.is_empty() {
                let ports: Vec<String> = outs
                    .iter()
                    .map(|d| match &d.port {
                        Some(p) => format!("{}.{p}", input.component),
                        None => input.component.clone(),
                    })
                    .collect();
                ck.err(
                    loc,
                    format!("{}.inputs", c.key()),
                    format!("`{input}` is not an output of `{}`", input.component),
                    format!("use one of: {}", ports.join(", ")),
                );
            }
            inputs.extend(on_port);
        }
        let outputs = match &mut instance {
            Instance::Source(s) => s.outputs().await,
            Instance::Transform(t) => t.outputs(inputs.clone()).await,
            Instance::Sink(s) => {
                match s.accepts().await {
                    Ok(Accepts::Categories(cats)) => {
                        for d in &inputs {
                            if !cats.contains(&d.category) {
                                ck.err(&c.loc, format!("{}.inputs", c.key()), format!("`{}` takes {}, but an input emits `{}`", ty.name, cats.join(", "), d.category), "map the input onto an accepted category first (a `map` transform)");
                            }
                        }
                        Ok(Vec::new())
                    }
                    Ok(Accepts::Any) => Ok(Vec::new()),
                    Err(e) => Err(e),
                }
            }
        };
        match outputs {
            Ok(outs) => {
                decls.insert(c.id.clone(), outs.clone());
                nodes.push(Node {
                    config: c.clone(),
                    ty: ty.clone(),
                    instance: Some(instance),
                    outputs: outs,
                });
            }
            Err(e) => plugin_error(&mut ck, c, &e),
        }
    }
    if !ck.errors.is_empty() {
        return Err(ConfigErrors(ck.errors));
    }
    let warnings = unread_ports(&nodes);
    Ok(Plan {
        config: cfg,
        nodes,
        warnings,
    })
}

fn check_options(ck: &mut Checker, c: &ComponentConfig, ty: &ComponentType) {
    let Ok(validator) = jsonschema::validator_for(&ty.options_schema) else {
        return;
    };
    let props: Vec<String> = ty
        .options_schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for e in validator.iter_errors(&c.options) {
        let pointer = e.instance_path().as_str().to_string();
        if let (jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected }, "") =
            (e.kind(), pointer.as_str())
        {
            for key in unexpected {
                let loc = c.option_locs.get(key).unwrap_or(&c.loc).clone();
                let fix = match closest(key, props.iter().map(String::as_str)) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!("`{}` takes: {}", ty.name, props.join(", ")),
                };
                ck.err(
                    &loc,
                    format!("{}.{key}", c.key()),
                    format!("unknown option of `{}`", ty.name),
                    fix,
                );
            }
            continue;
        }
        let top = pointer
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("")
            .to_string();
        let loc = c.option_locs.get(&top).unwrap_or(&c.loc).clone();
        let key = if pointer.is_empty() {
            c.key()
        } else {
            format!("{}{}", c.key(), pointer.replace('/', "."))
        };
        let fix = format!(
            "see `qdp plugins inspect` for `{}`; its options are: {}",
            ty.name,
            props.join(", ")
        );
        ck.err(&loc, key, e.masked().to_string(), fix);
    }
}

fn plugin_error(ck: &mut Checker, c: &ComponentConfig, e: &PluginError) {
    let fix = match e.domain {
        ErrorDomain::Config => format!("correct the options of `{}`", c.key()),
        _ => "the component failed while being built; see its documentation".to_string(),
    };
    ck.err(&c.loc, c.key(), e.to_string(), fix);
}

fn unread_ports(nodes: &[Node]) -> Vec<String> {
    let read: BTreeSet<InputRef> = nodes
        .iter()
        .flat_map(|n| n.config.inputs.iter().map(|(i, _)| i.clone()))
        .collect();
    let mut warnings = Vec::new();
    for n in nodes {
        for d in &n.outputs {
            let r = InputRef {
                component: n.config.id.clone(),
                port: d.port.clone(),
            };
            if !read.contains(&r) {
                warnings.push(format!("{}: output `{r}` ({}) is read by no component; its rows are counted in metrics but not stored", n.config.key(), d.category));
            }
        }
    }
    warnings
}

/// Indices of components with producers first, or the ids of a cycle.
fn topo_order(cfg: &PipelineConfig) -> Result<Vec<usize>, Vec<String>> {
    let index: BTreeMap<&str, usize> = cfg
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let mut state = vec![0u8; cfg.components.len()]; // 0 new, 1 on stack, 2 done
    let mut order = Vec::new();
    fn visit(
        i: usize,
        cfg: &PipelineConfig,
        index: &BTreeMap<&str, usize>,
        state: &mut [u8],
        order: &mut Vec<usize>,
        stack: &mut Vec<usize>,
    ) -> Result<(), Vec<String>> {
        match state[i] {
            2 => return Ok(()),
            1 => {
                let start = stack.iter().position(|&s| s == i).unwrap_or(0);
                let mut cycle: Vec<String> = stack[start..]
                    .iter()
                    .map(|&s| cfg.components[s].id.clone())
                    .collect();
                cycle.push(cfg.components[i].id.clone());
                return Err(cycle);
            }
            _ => {}
        }
        state[i] = 1;
        stack.push(i);
        for (input, _) in &cfg.components[i].inputs {
            if let Some(&j) = index.get(input.component.as_str()) {
                visit(j, cfg, index, state, order, stack)?;
            }
        }
        stack.pop();
        state[i] = 2;
        order.push(i);
        Ok(())
    }
    for i in 0..cfg.components.len() {
        visit(i, cfg, &index, &mut state, &mut order, &mut Vec::new())?;
    }
    Ok(order)
}
