//! `lineage.dot`: the lineage graph for Graphviz (`dot -Tsvg lineage.dot`).

use crate::model::{Catalog, NodeKind};
use std::fmt::Write;

fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The DOT text.
pub fn render(cat: &Catalog) -> String {
    let mut s = String::from(
        "digraph lineage {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"sans-serif\", fontsize=10];\n",
    );
    for n in &cat.nodes {
        let (shape, fill) = match n.kind {
            NodeKind::SourceSystem => ("house", "#fde2c8"),
            NodeKind::Connector => ("box", "#d6e6fb"),
            NodeKind::Buffer => ("cylinder", "#e7dcf5"),
            NodeKind::Processor => ("box", "#dcefdc"),
            NodeKind::Dataset => ("folder", "#f4f4f4"),
        };
        let _ = writeln!(
            s,
            "  {} [label={}, shape={shape}, fillcolor=\"{fill}\", tooltip={}];",
            q(&n.id),
            q(&format!("{}\n{}", n.label, n.kind.name())),
            q(&n.detail)
        );
    }
    for e in &cat.edges {
        let _ = writeln!(
            s,
            "  {} -> {} [label={}, fontsize=8];",
            q(&e.from),
            q(&e.to),
            q(&e.label)
        );
    }
    s.push_str("}\n");
    s
}
