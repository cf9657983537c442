//! Walks over the lineage graph: the datasets next to each dataset (through
//! connectors, buffers and processors), the source systems it comes from,
//! and a path back to one of them.

use crate::model::{Catalog, NodeKind};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

fn adjacency(cat: &Catalog, upstream: bool) -> BTreeMap<&str, Vec<&str>> {
    let mut m: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in &cat.edges {
        let (a, b) = if upstream {
            (&e.to, &e.from)
        } else {
            (&e.from, &e.to)
        };
        m.entry(a.as_str()).or_default().push(b.as_str());
    }
    m
}

/// One write of rows into a dataset, as the builder saw it.
#[derive(Debug, Clone)]
pub struct Write {
    /// The dataset id.
    pub dataset: String,
    /// The connector node the rows started at.
    pub connector: String,
    /// Their category.
    pub category: String,
}

/// Fills every dataset's `upstream`, `downstream` and `source_systems` from
/// what was written into it (which source, which category) and what gold
/// views read: precise per dataset, where the graph's processors merge many
/// streams. A table a sink only creates has none.
pub fn link(cat: &mut Catalog, writes: &[Write]) {
    let kinds: BTreeMap<&str, NodeKind> =
        cat.nodes.iter().map(|n| (n.id.as_str(), n.kind)).collect();
    let mut up: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut direct: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in &cat.edges {
        let (from, to) = (kinds.get(e.from.as_str()), kinds.get(e.to.as_str()));
        if from == Some(&NodeKind::Dataset) && to == Some(&NodeKind::Dataset) {
            up.entry(e.to.clone()).or_default().insert(e.from.clone());
        }
    }
    for w in writes {
        let into: Vec<&crate::model::Edge> =
            cat.edges.iter().filter(|e| e.to == w.connector).collect();
        for e in &into {
            match kinds.get(e.from.as_str()) {
                Some(NodeKind::SourceSystem) => {
                    direct
                        .entry(w.dataset.clone())
                        .or_default()
                        .insert(e.from.clone());
                }
                Some(NodeKind::Dataset) => {
                    let same = into.iter().any(|x| x.label == w.category);
                    if !same || e.label == w.category {
                        up.entry(w.dataset.clone())
                            .or_default()
                            .insert(e.from.clone());
                    }
                }
                _ => {}
            }
        }
    }
    // Source systems flow down the upstream relation: repeat until stable.
    let mut systems = direct;
    for _ in 0..=cat.datasets.len() {
        let mut changed = false;
        for (d, ups) in &up {
            let inherited: BTreeSet<String> = ups
                .iter()
                .flat_map(|u| systems.get(u).cloned().unwrap_or_default())
                .collect();
            let entry = systems.entry(d.clone()).or_default();
            let before = entry.len();
            entry.extend(inherited);
            changed |= entry.len() != before;
        }
        if !changed {
            break;
        }
    }
    let mut down: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (d, ups) in &up {
        for u in ups {
            down.entry(u.clone()).or_default().insert(d.clone());
        }
    }
    for d in &mut cat.datasets {
        let list = |m: &BTreeMap<String, BTreeSet<String>>| {
            m.get(&d.id)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default()
        };
        d.upstream = list(&up);
        d.downstream = list(&down);
        d.source_systems = list(&systems);
    }
}

/// The shortest path of node ids from a source system down to `node`, if any.
pub fn path_from_source(cat: &Catalog, node: &str) -> Option<Vec<String>> {
    let kinds: BTreeMap<&str, NodeKind> =
        cat.nodes.iter().map(|n| (n.id.as_str(), n.kind)).collect();
    let up = adjacency(cat, true);
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut q = VecDeque::from([node]);
    let mut seen = BTreeSet::from([node]);
    while let Some(n) = q.pop_front() {
        if kinds.get(n) == Some(&NodeKind::SourceSystem) {
            let mut path = vec![n.to_string()];
            let mut cur = n;
            while let Some(p) = prev.get(cur) {
                path.push(p.to_string());
                cur = p;
            }
            return Some(path);
        }
        for m in up.get(n).into_iter().flatten() {
            if seen.insert(m) {
                prev.insert(m, n);
                q.push_back(m);
            }
        }
    }
    None
}

/// Layers for drawing: each node one column right of everything upstream
/// of it (longest path from a root; edges closing a cycle are ignored).
pub fn layers(cat: &Catalog) -> BTreeMap<String, usize> {
    let mut layer: BTreeMap<String, usize> = cat.nodes.iter().map(|n| (n.id.clone(), 0)).collect();
    for _ in 0..cat.nodes.len() {
        let mut changed = false;
        for e in &cat.edges {
            let from = layer.get(&e.from).copied().unwrap_or(0);
            let to = layer.entry(e.to.clone()).or_insert(0);
            if *to < from + 1 && from + 1 < cat.nodes.len() {
                *to = from + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    layer
}
