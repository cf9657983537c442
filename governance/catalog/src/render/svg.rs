//! The lineage graph as an inline SVG: a layered layout (each node one
//! column right of its furthest upstream node), no script, no external
//! resources, so it shows in any browser and in a saved file.

use super::escape;
use crate::graph::layers;
use crate::model::{Catalog, NodeKind};
use std::collections::BTreeMap;
use std::fmt::Write;

const W: usize = 250;
const GAP: usize = 60;
const H: usize = 34;
const ROW: usize = 44;

fn colour(k: NodeKind) -> &'static str {
    match k {
        NodeKind::SourceSystem => "#fde2c8",
        NodeKind::Connector => "#d6e6fb",
        NodeKind::Buffer => "#e7dcf5",
        NodeKind::Processor => "#dcefdc",
        NodeKind::Dataset => "#f4f4f4",
    }
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n - 1).collect();
        format!("{t}…")
    }
}

/// The `<svg>` element.
pub fn render(cat: &Catalog) -> String {
    let layer = layers(cat);
    let mut columns: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut order: Vec<usize> = (0..cat.nodes.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&cat.nodes[a], &cat.nodes[b]);
        (&x.pipeline, &x.id).cmp(&(&y.pipeline, &y.id))
    });
    for i in order {
        columns
            .entry(layer.get(&cat.nodes[i].id).copied().unwrap_or(0))
            .or_default()
            .push(i);
    }
    let mut pos: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (col, nodes) in &columns {
        for (row, &i) in nodes.iter().enumerate() {
            pos.insert(&cat.nodes[i].id, (10 + col * (W + GAP), 10 + row * ROW));
        }
    }
    let width = 20 + columns.len() * (W + GAP);
    let height = 20 + columns.values().map(Vec::len).max().unwrap_or(0) * ROW;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" role="img" aria-label="lineage graph">"#
    );
    for e in &cat.edges {
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (pos.get(e.from.as_str()), pos.get(e.to.as_str()))
        else {
            continue;
        };
        let (ax, ay, bx, by) = (x1 + W, y1 + H / 2, x2, y2 + H / 2);
        let mid = (ax + bx) / 2;
        let _ = writeln!(
            s,
            r##"<path d="M{ax},{ay} C{mid},{ay} {mid},{by} {bx},{by}" fill="none" stroke="#8a8a8a" stroke-width="1"><title>{} → {}: {}</title></path>"##,
            escape(&e.from),
            escape(&e.to),
            escape(&e.label)
        );
    }
    for n in &cat.nodes {
        let Some(&(x, y)) = pos.get(n.id.as_str()) else {
            continue;
        };
        let body = format!(
            r##"<rect x="{x}" y="{y}" width="{W}" height="{H}" rx="5" fill="{}" stroke="#555"/><text x="{}" y="{}">{}</text><text x="{}" y="{}" fill="#555" font-size="9">{}</text><title>{} ({}): {}</title>"##,
            colour(n.kind),
            x + 6,
            y + 14,
            escape(&short(&n.label, 40)),
            x + 6,
            y + 27,
            escape(&short(n.kind.name(), 40)),
            escape(&n.id),
            n.kind.name(),
            escape(&n.detail)
        );
        if n.kind == NodeKind::Dataset {
            let _ = writeln!(
                s,
                r##"<a href="#{}">{body}</a>"##,
                escape(&super::anchor(&n.id))
            );
        } else {
            let _ = writeln!(s, "<g>{body}</g>");
        }
    }
    s.push_str("</svg>\n");
    s
}
