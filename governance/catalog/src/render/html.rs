//! `index.html`: one static page, styles inline, no script, no external
//! resources: the dataset list, the lineage graph, one section per
//! category and per dataset, the source dictionary and the notes.

use super::markdown::constraints;
use super::{anchor, escape};
use crate::model::{Catalog, Dataset, DictEntry, Field};
use std::fmt::Write;

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:.5em 0 1.2em}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top;font-size:13px}
th{background:#f0f0f0}code{background:#f6f6f6;padding:0 3px}.pii{background:#fde0e0;font-weight:bold}
.c-public{color:#1a7f37}.c-internal{color:#555}.c-confidential{color:#b35900;font-weight:bold}.c-pii{color:#c00;font-weight:bold}
section{border-top:1px solid #ddd;margin-top:1.5em}.graph{overflow:auto;border:1px solid #ddd}.meta{color:#444}";

fn opt(s: &Option<String>) -> String {
    escape(s.as_deref().unwrap_or("—"))
}

fn class(name: &str) -> String {
    format!("<span class=\"c-{name}\">{name}</span>")
}

fn link(id: &str) -> String {
    format!(
        "<a href=\"#{}\"><code>{}</code></a>",
        anchor(id),
        escape(id)
    )
}

fn fields(out: &mut String, fields: &[Field]) {
    if fields.is_empty() {
        out.push_str("<p>Columns are known only from the store itself.</p>");
        return;
    }
    out.push_str("<table><tr><th>field</th><th>type</th><th>null</th><th>constraints</th><th>classification</th><th>glossary</th></tr>");
    for f in fields {
        let row = if f.pii { " class=\"pii\"" } else { "" };
        let _ = write!(
            out,
            "<tr{row}><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>",
            escape(&f.name),
            escape(&f.ty),
            if f.nullable { "yes" } else { "no" },
            escape(&constraints(f)),
            class(f.classification.name()),
            if f.pii { " ⚠ PII" } else { "" },
            escape(&f.glossary)
        );
    }
    out.push_str("</table>");
}

fn dictionary(out: &mut String, lines: &[&DictEntry]) {
    out.push_str("<table><tr><th>pipeline</th><th>component</th><th>source system</th><th>field</th><th>from</th><th>note</th></tr>");
    for d in lines {
        let _ = write!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td><code>{}.{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(&d.pipeline),
            escape(&d.component),
            escape(&d.source_system),
            escape(&d.category),
            escape(&d.field),
            escape(&d.from),
            opt(&d.note)
        );
    }
    out.push_str("</table>");
}

fn dataset(out: &mut String, d: &Dataset, cat: &Catalog) {
    let list = |v: &[String]| {
        if v.is_empty() {
            "—".to_string()
        } else {
            v.iter().map(|x| link(x)).collect::<Vec<_>>().join(", ")
        }
    };
    let pii = d.pii_fields();
    let _ = write!(
        out,
        "<section id=\"{}\"><h3>{}</h3><p>{}</p><p class=\"meta\">{} <code>{}</code> in {} · layer {} · category {} · owner {} · classification {}{} · freshness SLA {}</p>",
        anchor(&d.id),
        escape(&d.id),
        escape(&d.description),
        escape(&d.kind),
        escape(&d.name),
        escape(&d.location),
        escape(&d.layer),
        d.category.as_deref().map_or("—".into(), |c| format!(
            "<a href=\"#cat-{c}\"><code>{c}</code></a>"
        )),
        opt(&d.owner),
        class(d.classification.name()),
        if pii.is_empty() {
            String::new()
        } else {
            format!(
                " · <span class=\"pii\">PII: {}</span>",
                escape(&pii.join(", "))
            )
        },
        opt(&d.freshness_sla)
    );
    let systems: Vec<String> = d
        .source_systems
        .iter()
        .map(|s| {
            cat.nodes
                .iter()
                .find(|n| n.id == *s)
                .map_or(s.clone(), |n| n.label.clone())
        })
        .collect();
    let _ = write!(
        out,
        "<ul><li>pipelines: {}</li><li>source systems: {}</li><li>upstream: {}</li><li>downstream: {}</li></ul>",
        escape(&d.pipelines.join(", ")),
        escape(&systems.join(", ")),
        list(&d.upstream),
        list(&d.downstream)
    );
    fields(out, &d.fields);
    if let Some(c) = &d.category {
        let lines: Vec<&DictEntry> = cat.dictionary.iter().filter(|x| x.category == *c).collect();
        if !lines.is_empty() {
            out.push_str("<p>Where each field comes from, per source:</p>");
            dictionary(out, &lines);
        }
    }
    out.push_str("</section>");
}

/// The page.
pub fn render(cat: &Catalog) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>qdp data catalogue</title><style>{STYLE}</style></head><body><h1>Data catalogue</h1><p>Built by qdp {} from {}. {} category schemas, {} datasets, {} lineage edges. Also: <a href=\"catalog.md\">catalog.md</a>, <a href=\"catalog.json\">catalog.json</a>, <a href=\"lineage.dot\">lineage.dot</a>.</p>",
        escape(&cat.qdp_version),
        escape(
            &cat.pipelines
                .iter()
                .map(|p| p.file.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        cat.categories.len(),
        cat.datasets.len(),
        cat.edges.len()
    );
    o.push_str("<h2>Datasets</h2><table><tr><th>dataset</th><th>kind</th><th>layer</th><th>category</th><th>classification</th><th>PII fields</th><th>owner</th><th>SLA</th></tr>");
    for d in &cat.datasets {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            link(&d.id),
            escape(&d.kind),
            escape(&d.layer),
            opt(&d.category),
            class(d.classification.name()),
            escape(&d.pii_fields().join(", ")),
            opt(&d.owner),
            opt(&d.freshness_sla)
        );
    }
    o.push_str("</table><h2>Lineage</h2><p>Source systems (orange) → connectors (blue) → buffers and topics (purple) → processors (green) → datasets (grey; click to open). Hover for details.</p><div class=\"graph\">");
    o.push_str(&super::svg::render(cat));
    o.push_str("</div><h2>Category schemas</h2>");
    for c in &cat.categories {
        let _ = write!(
            o,
            "<section id=\"cat-{}\"><h3>{} (v{})</h3><p>{}</p><p class=\"meta\">owner {} · classification {} · freshness SLA {} · identifier <code>{}</code> · timestamp {} · unique key {}</p>",
            escape(&c.name),
            escape(&c.name),
            c.version,
            escape(&c.description),
            opt(&c.owner),
            class(c.classification.name()),
            opt(&c.freshness_sla),
            escape(&c.identifier),
            opt(&c.timestamp),
            escape(&c.unique_key.join(", "))
        );
        fields(&mut o, &c.fields);
        o.push_str("</section>");
    }
    o.push_str("<h2>Physical datasets</h2>");
    for d in &cat.datasets {
        dataset(&mut o, d, cat);
    }
    o.push_str("<h2>Pipelines</h2>");
    for p in &cat.pipelines {
        let _ = write!(
            o,
            "<h3>{}</h3><p><code>{}</code></p><table><tr><th>component</th><th>kind</th><th>type</th><th>inputs</th><th>options (secrets hidden)</th></tr>",
            escape(&p.name),
            escape(&p.file)
        );
        for c in &p.components {
            let _ = write!(
                o,
                "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td></tr>",
                escape(&c.id),
                escape(&c.kind),
                escape(&c.type_name),
                escape(&c.inputs.join(", ")),
                escape(&c.options.to_string())
            );
        }
        o.push_str("</table>");
    }
    o.push_str("<h2>Source → category field dictionary</h2>");
    dictionary(&mut o, &cat.dictionary.iter().collect::<Vec<_>>());
    if !cat.notes.is_empty() {
        o.push_str("<h2>Notes</h2><ul>");
        for n in &cat.notes {
            let _ = write!(o, "<li>{}</li>", escape(n));
        }
        o.push_str("</ul>");
    }
    o.push_str("</body></html>\n");
    o
}
