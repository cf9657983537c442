//! `qdp schemas [NAME] [--format md|json]`.

use qdp_core::schema::{registry, render_json, render_markdown};

/// Lists every category schema, or prints one with its glossary.
pub fn main(name: Option<&str>, format: &str) -> Result<(), String> {
    let reg = registry();
    if !reg.errors.is_empty() {
        return Err(format!(
            "error: category schema files are broken: {}",
            reg.errors.join("; ")
        ));
    }
    if format != "md" && format != "json" {
        return Err(format!("error: --format {format}: use md or json"));
    }
    let Some(name) = name else {
        if format == "json" {
            let all: Vec<_> = reg.all().map(render_json).collect();
            println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
        } else {
            for s in reg.all() {
                println!("{:<32} v{}  {}", s.name, s.version, s.description);
            }
        }
        return Ok(());
    };
    let s = reg.get(name).ok_or_else(|| {
        format!(
            "error: no category schema `{name}` (known: {})",
            reg.names().join(", ")
        )
    })?;
    if format == "json" {
        println!(
            "{}",
            serde_json::to_string_pretty(&render_json(s)).unwrap_or_default()
        );
    } else {
        print!("{}", render_markdown(s));
    }
    Ok(())
}
