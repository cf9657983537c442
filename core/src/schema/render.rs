//! Category schemas for people (`--format md`) and programs (`--format json`).

use qdp_sdk::schema::CategorySchema;
use std::fmt::Write;

/// A Markdown page: description, keys, and a table of fields with glossary.
pub fn render_markdown(s: &CategorySchema) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {} (v{})\n\n{}\n", s.name, s.version, s.description);
    let _ = writeln!(out, "* designated identifier: `{}`", s.identifier);
    if let Some(ts) = &s.timestamp {
        let _ = writeln!(out, "* designated timestamp: `{ts}` (UTC, nanoseconds)");
    }
    let _ = writeln!(out, "* unique key: ({})", s.unique_key.join(", "));
    let _ = writeln!(
        out,
        "* rejects: `{}` (every field as text, plus `unqualified_reason`)\n",
        super::unqualified_category(&s.name)
    );
    let _ = writeln!(
        out,
        "| field | type | nullable | constraints | meaning |\n|---|---|---|---|---|"
    );
    for f in &s.fields {
        let mut c = Vec::new();
        if let Some(d) = &f.domain {
            c.push(format!("one of {}", d.join(", ")));
        }
        if let Some(m) = f.min {
            c.push(format!(">= {m}"));
        }
        if let Some(m) = f.max {
            c.push(format!("<= {m}"));
        }
        if f.unit {
            c.push("unit: `<amount>_<unit>`".into());
        }
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            f.name,
            f.ty.name(),
            if f.nullable { "yes" } else { "no" },
            c.join("; "),
            f.glossary.replace('|', "\\|")
        );
    }
    out
}

/// The schema as JSON.
pub fn render_json(s: &CategorySchema) -> serde_json::Value {
    serde_json::to_value(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_carries_every_glossary() {
        for s in crate::schema::registry().all() {
            let md = render_markdown(s);
            for f in &s.fields {
                assert!(
                    md.contains(&f.glossary.replace('|', "\\|")),
                    "{}: {}",
                    s.name,
                    f.name
                );
            }
        }
    }
}
