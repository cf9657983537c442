//! `qdp plugins list` and `qdp plugins inspect PATH`.

use clap::Subcommand;
use qdp_core::Registry;
use qdp_core::registry::{Origin, search_path};
use qdp_sdk::capabilities;
use qdp_sdk::dictionary::FieldSource;
use qdp_sdk::ffi::host::PluginLibrary;
use std::path::PathBuf;

/// Plugin subcommands.
#[derive(Subcommand)]
pub enum PluginsCommand {
    /// List every component type: built-in, and plugins on the search path.
    List {
        /// Extra directories to search (before QDP_PLUGIN_PATH and the executable's directory).
        #[arg(long)]
        path: Vec<PathBuf>,
    },
    /// Load one plugin library and print its descriptor, its source →
    /// category field dictionary and its options schema.
    Inspect {
        /// The library file.
        file: PathBuf,
        /// Print what the plugin declares as one JSON object instead.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a plugins subcommand.
pub fn main(cmd: PluginsCommand) -> Result<(), String> {
    match cmd {
        PluginsCommand::List { path } => {
            let mut reg = Registry::with_builtins();
            reg.load_plugin_dirs(&search_path(&path));
            println!(
                "{:<14} {:<10} {:<9} {:<32} origin",
                "type", "kind", "version", "capabilities"
            );
            for t in reg.all() {
                let origin = match &t.origin {
                    Origin::Builtin => "built-in".to_string(),
                    Origin::Registered => "registered".to_string(),
                    Origin::Plugin(p) => p.display().to_string(),
                };
                let caps = capabilities::names(t.capabilities).join(",");
                println!(
                    "{:<14} {:<10} {:<9} {:<32} {origin}",
                    t.name,
                    t.kind.to_string(),
                    t.version,
                    caps
                );
            }
            println!(
                "searched: {}",
                reg.searched
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for (p, why) in &reg.refused {
                println!("refused: {}: {why}", p.display());
            }
            Ok(())
        }
        PluginsCommand::Inspect { file, json } => {
            let lib = PluginLibrary::open(&file).map_err(|e| format!("error: {e}"))?;
            let i = lib.info();
            if json {
                let text = serde_json::to_string_pretty(i).map_err(|e| format!("error: {e}"))?;
                println!("{text}");
                return Ok(());
            }
            println!("name:         {}", i.name);
            println!("kind:         {}", i.kind);
            println!("version:      {}", i.version);
            println!("abi:          {}.{}", i.abi.0, i.abi.1);
            println!("sdk:          {}", i.sdk_version);
            println!(
                "capabilities: {}",
                capabilities::names(i.capabilities).join(", ")
            );
            print!("{}", dictionary_table(&i.dictionary, 100));
            println!("options schema:");
            println!(
                "{}",
                serde_json::to_string_pretty(&i.options_schema).unwrap_or_default()
            );
            Ok(())
        }
    }
}

/// The dictionary as a table grouped by category: field, then where it
/// comes from and any note, wrapped to `width` columns.
fn dictionary_table(d: &[FieldSource], width: usize) -> String {
    if d.is_empty() {
        return "dictionary:   none declared\n".to_string();
    }
    let mut out = format!("dictionary:   {} fields\n", d.len());
    let pad = d.iter().map(|e| e.field.len()).max().unwrap_or(0) + 6;
    let mut category = "";
    for e in d {
        if e.category != category {
            category = &e.category;
            out.push_str(&format!("  {category}\n"));
        }
        let mut text = wrap(&e.from, width.saturating_sub(pad));
        if let Some(note) = &e.note {
            text.extend(wrap(&format!("note: {note}"), width.saturating_sub(pad)));
        }
        for (n, line) in text.iter().enumerate() {
            let label = if n == 0 { e.field.as_str() } else { "" };
            out.push_str(&format!("    {label:<w$}{line}\n", w = pad - 4));
        }
    }
    out
}

/// Greedy word wrap; a word longer than `width` gets a line of its own.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().map(|l| l.len()).unwrap_or(0);
        if last > 0 && last + 1 + word.len() > width.max(20) {
            lines.push(String::new());
        }
        if let Some(l) = lines.last_mut() {
            if !l.is_empty() {
                l.push(' ');
            }
            l.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_groups_by_category_and_wraps_long_sources() {
        let d = vec![
            FieldSource::new("numeric_economic_data", "release_field", "word ".repeat(30))
                .note("as published"),
            FieldSource::new("numeric_economic_data", "publisher_code", "constant `EIA`"),
            FieldSource::new("economic_data_releases", "release_code", "constant `X`"),
        ];
        let t = dictionary_table(&d, 60);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "dictionary:   3 fields");
        assert_eq!(lines[1], "  numeric_economic_data");
        assert!(lines[2].starts_with("    release_field   word word"), "{t}");
        assert!(lines.iter().all(|l| l.len() <= 60), "{t}");
        assert!(t.contains("                    note: as published"), "{t}");
        assert!(t.contains("    publisher_code  constant `EIA`"), "{t}");
        assert_eq!(t.matches("  numeric_economic_data\n").count(), 1, "{t}");
        assert!(
            t.contains("  economic_data_releases\n    release_code    constant `X`"),
            "{t}"
        );
        assert_eq!(dictionary_table(&[], 60), "dictionary:   none declared\n");
    }
}
