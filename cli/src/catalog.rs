//! `qdp catalog build --out DIR`: the data catalogue (see `qdp-catalog`).

use clap::Subcommand;
use qdp_core::Registry;
use qdp_core::registry::search_path;
use std::path::PathBuf;

/// Catalogue subcommands.
#[derive(Subcommand)]
pub enum CatalogCommand {
    /// Build the catalogue as HTML, Markdown, JSON and Graphviz DOT, from the
    /// category schemas, pipeline files and gold SQL (nothing is run).
    Build {
        /// Where to write index.html, catalog.md, catalog.json and lineage.dot.
        #[arg(long)]
        out: PathBuf,
        /// Pipeline files (default: every examples/pipelines/*.toml).
        pipelines: Vec<PathBuf>,
        /// Gold SQL folder, instead of each postgres sink's `gold_sql_dir`.
        #[arg(long)]
        gold_sql: Option<PathBuf>,
        /// Also load the catalogue into schema `catalog` of this Postgres.
        #[arg(long)]
        postgres: Option<String>,
        /// Extra plugin directories (for the connectors' declared dictionaries).
        #[arg(long)]
        plugin_path: Vec<PathBuf>,
    },
}

/// Runs a catalogue subcommand.
pub async fn main(cmd: CatalogCommand) -> Result<(), String> {
    let CatalogCommand::Build {
        out,
        pipelines,
        gold_sql,
        postgres,
        plugin_path,
    } = cmd;
    let pipelines = if pipelines.is_empty() {
        example_pipelines()?
    } else {
        pipelines
    };
    let mut dirs = plugin_path;
    for p in &pipelines {
        let cfg = qdp_catalog::load::read_pipeline(p).map_err(|e| e.to_string())?;
        dirs.extend(cfg.plugin_path);
    }
    let mut registry = Registry::with_builtins();
    registry.load_plugin_dirs(&search_path(&dirs));
    let cat = qdp_catalog::build(&qdp_catalog::Sources {
        pipelines,
        gold_sql,
        registry: &registry,
    })
    .map_err(|e| e.to_string())?;
    let files = qdp_catalog::render::write_all(&cat, &out).map_err(|e| e.to_string())?;
    let pii = cat
        .datasets
        .iter()
        .filter(|d| !d.pii_fields().is_empty())
        .count();
    println!(
        "catalogue: {} category schemas, {} datasets ({pii} with PII fields), {} lineage edges, {} dictionary lines from {} pipelines",
        cat.categories.len(),
        cat.datasets.len(),
        cat.edges.len(),
        cat.dictionary.len(),
        cat.pipelines.len()
    );
    for f in &files {
        println!("  {}", f.display());
    }
    for n in &cat.notes {
        println!("  note: {n}");
    }
    if let Some(url) = postgres {
        qdp_catalog::postgres::load(&cat, &url)
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "  loaded into schema `catalog` of {} (tables datasets, fields, lineage, source_dictionary)",
            qdp_catalog::redact::redact_text(&url)
        );
    }
    Ok(())
}

/// `examples/pipelines/*.toml` of this checkout, in name order.
fn example_pipelines() -> Result<Vec<PathBuf>, String> {
    let dir = crate::demo_macro::examples_dir()?.join("pipelines");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    Ok(v)
}
