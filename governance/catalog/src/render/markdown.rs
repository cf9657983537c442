//! `catalog.md`: the catalogue as Markdown, for a repository or a wiki.

use crate::model::{Catalog, Category, Dataset, DictEntry, Field};
use std::fmt::Write;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("—")
}

/// Domain, range and unit of a field, in a few words.
pub fn constraints(f: &Field) -> String {
    let mut v = Vec::new();
    if f.unit {
        v.push("unit `<amount>_<unit>`".to_string());
    }
    if let Some(d) = &f.domain {
        v.push(format!("one of {}", d.join(", ")));
    }
    match (f.min, f.max) {
        (Some(a), Some(b)) => v.push(format!("{a} to {b}")),
        (Some(a), None) => v.push(format!("≥ {a}")),
        (None, Some(b)) => v.push(format!("≤ {b}")),
        _ => {}
    }
    v.join("; ")
}

fn fields(out: &mut String, fields: &[Field]) {
    if fields.is_empty() {
        out.push_str("Columns are known only from the store itself.\n\n");
        return;
    }
    out.push_str("| field | type | null | constraints | classification | glossary |\n|---|---|---|---|---|---|\n");
    for f in fields {
        let class = if f.pii {
            "**pii** ⚠".to_string()
        } else {
            f.classification.name().to_string()
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            f.name,
            f.ty,
            if f.nullable { "yes" } else { "no" },
            cell(&constraints(f)),
            class,
            cell(&f.glossary)
        );
    }
    out.push('\n');
}

fn dictionary(out: &mut String, lines: &[&DictEntry]) {
    out.push_str("| pipeline | component | source system | field | from | note |\n|---|---|---|---|---|---|\n");
    for d in lines {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | `{}.{}` | {} | {} |",
            d.pipeline,
            d.component,
            cell(&d.source_system),
            d.category,
            d.field,
            cell(&d.from),
            cell(opt(&d.note))
        );
    }
    out.push('\n');
}

fn category(out: &mut String, c: &Category, cat: &Catalog) {
    let _ = writeln!(
        out,
        "### Category `{}` (v{})\n\n{}\n",
        c.name, c.version, c.description
    );
    let _ = writeln!(
        out,
        "owner: {} · classification: **{}** · freshness SLA: {} · identifier: `{}` · timestamp: {} · unique key: {}\n",
        opt(&c.owner),
        c.classification.name(),
        opt(&c.freshness_sla),
        c.identifier,
        opt(&c.timestamp),
        c.unique_key.join(", ")
    );
    fields(out, &c.fields);
    let lines: Vec<&DictEntry> = cat
        .dictionary
        .iter()
        .filter(|d| d.category == c.name)
        .collect();
    if !lines.is_empty() {
        out.push_str("Source → category dictionary:\n\n");
        dictionary(out, &lines);
    }
}

fn dataset(out: &mut String, d: &Dataset) {
    let _ = writeln!(out, "### `{}`\n\n{}\n", d.id, d.description);
    let pii = d.pii_fields();
    let _ = writeln!(
        out,
        "{} `{}` in {} · layer {} · category {} · owner {} · classification **{}**{} · freshness SLA {}\n",
        d.kind,
        d.name,
        cell(&d.location),
        d.layer,
        d.category
            .as_deref()
            .map_or("—".to_string(), |c| format!("`{c}`")),
        opt(&d.owner),
        d.classification.name(),
        if pii.is_empty() {
            String::new()
        } else {
            format!(" · PII: {}", pii.join(", "))
        },
        opt(&d.freshness_sla)
    );
    let list = |v: &[String]| {
        if v.is_empty() {
            "—".to_string()
        } else {
            v.iter()
                .map(|x| format!("`{x}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let _ = writeln!(
        out,
        "- pipelines: {}\n- source systems: {}\n- upstream: {}\n- downstream: {}\n",
        list(&d.pipelines),
        list(&d.source_systems),
        list(&d.upstream),
        list(&d.downstream)
    );
    fields(out, &d.fields);
}

/// The Markdown text.
pub fn render(cat: &Catalog) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Data catalogue\n\nBuilt by qdp {} from {} pipeline files ({}). {} category schemas, {} datasets, {} lineage edges.\n",
        cat.qdp_version,
        cat.pipelines.len(),
        cat.pipelines
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        cat.categories.len(),
        cat.datasets.len(),
        cat.edges.len()
    );
    out.push_str("## Datasets\n\n| dataset | kind | layer | classification | PII fields | owner | SLA |\n|---|---|---|---|---|---|---|\n");
    for d in &cat.datasets {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            d.id,
            d.kind,
            d.layer,
            d.classification.name(),
            d.pii_fields().join(", "),
            opt(&d.owner),
            opt(&d.freshness_sla)
        );
    }
    out.push_str("\n## Category schemas\n\n");
    for c in &cat.categories {
        category(&mut out, c, cat);
    }
    out.push_str("## Physical datasets\n\n");
    for d in &cat.datasets {
        dataset(&mut out, d);
    }
    out.push_str("## Pipelines\n\n");
    for p in &cat.pipelines {
        let _ = writeln!(
            out,
            "### {} (`{}`)\n\n| component | kind | type | inputs | options |\n|---|---|---|---|---|",
            p.name, p.file
        );
        for c in &p.components {
            let _ = writeln!(
                out,
                "| `{}` | {} | `{}` | {} | `{}` |",
                c.id,
                c.kind,
                c.type_name,
                cell(&c.inputs.join(", ")),
                cell(&c.options.to_string())
            );
        }
        out.push('\n');
    }
    out.push_str("## Source → category field dictionary\n\n");
    dictionary(&mut out, &cat.dictionary.iter().collect::<Vec<_>>());
    out.push_str("## Lineage\n\n| from | to | carries |\n|---|---|---|\n");
    for e in &cat.edges {
        let _ = writeln!(out, "| `{}` | `{}` | {} |", e.from, e.to, cell(&e.label));
    }
    if !cat.notes.is_empty() {
        out.push_str("\n## Notes\n\n");
        for n in &cat.notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    out
}
