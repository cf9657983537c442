//! `qdp iceberg tables PIPELINE`: what the pipeline's `iceberg` sinks hold,
//! and how another engine reads it.

use clap::Subcommand;
use qdp_core::config::load_pipeline;
use qdp_iceberg::{IcebergOptions, inspect};
use std::path::PathBuf;

/// Iceberg subcommands.
#[derive(Subcommand)]
pub enum IcebergCommand {
    /// For every `iceberg` sink of a pipeline file: its tables with rows,
    /// data files and snapshots, and the lines that read them from pyiceberg
    /// and DuckDB.
    Tables {
        /// The pipeline file.
        pipeline: PathBuf,
    },
}

/// Runs an iceberg subcommand.
pub async fn main(cmd: IcebergCommand) -> Result<(), String> {
    match cmd {
        IcebergCommand::Tables { pipeline } => tables(pipeline).await,
    }
}

async fn tables(pipeline: PathBuf) -> Result<(), String> {
    let cfg = load_pipeline(&pipeline).map_err(|e| e.to_string())?;
    let sinks: Vec<_> = cfg
        .components
        .iter()
        .filter(|c| c.type_name == "iceberg")
        .collect();
    if sinks.is_empty() {
        return Err(format!(
            "{}: no sink of type \"iceberg\"",
            pipeline.display()
        ));
    }
    for c in sinks {
        let o: IcebergOptions = serde_json::from_value(c.options.clone())
            .map_err(|e| format!("{}: sinks.{}: {e}", pipeline.display(), c.id))?;
        let data_dir = cfg.data_dir.join("components").join(&c.id);
        let places = o.places(Some(&data_dir))?;
        println!(
            "sinks.{}: catalog {} ({}), warehouse {}",
            c.id,
            o.catalog_name,
            qdp_iceberg::catalog::redact(&places.catalog_uri),
            places.warehouse
        );
        let catalog = inspect::open(&o, Some(&data_dir))
            .await
            .map_err(|e| e.to_string())?;
        let names = inspect::list(catalog.as_ref(), &o.namespace)
            .await
            .map_err(|e| e.to_string())?;
        if names.is_empty() {
            println!("  no tables yet in namespace {}", o.namespace);
        }
        for name in names {
            let Some(t) = inspect::load(catalog.as_ref(), &o.namespace, &name)
                .await
                .map_err(|e| e.to_string())?
            else {
                continue;
            };
            let meta = t.metadata();
            let total = |k: &str| {
                meta.current_snapshot()
                    .and_then(|s| s.summary().additional_properties.get(k).cloned())
                    .unwrap_or_else(|| "0".into())
            };
            let spec: Vec<String> = meta
                .default_partition_spec()
                .fields()
                .iter()
                .map(|f| {
                    let source = meta
                        .current_schema()
                        .field_by_id(f.source_id)
                        .map_or("?", |s| s.name.as_str());
                    format!("{}({source})", f.transform)
                })
                .collect();
            println!(
                "  {}.{}: {} rows in {} data files, {} snapshots, partitioned by {}",
                o.namespace,
                name,
                total("total-records"),
                total("total-data-files"),
                meta.snapshots().count(),
                spec.join(", ")
            );
            println!(
                "    metadata: {}",
                t.metadata_location().unwrap_or("(none)")
            );
        }
        if let Some(file) = places.sqlite_file() {
            println!("  read it from Python (pip install \"pyiceberg[sql-sqlite,pyarrow]\"):");
            println!("    from pyiceberg.catalog.sql import SqlCatalog");
            println!(
                "    cat = SqlCatalog(\"{}\", uri=\"sqlite:///{file}\", warehouse=\"{}\")",
                o.catalog_name, places.warehouse
            );
            println!(
                "    print(cat.load_table(\"{}.<table>\").scan(limit=10).to_arrow())",
                o.namespace
            );
            println!(
                "  or from DuckDB: INSTALL iceberg; LOAD iceberg; SELECT count(*) FROM iceberg_scan('<metadata above>');"
            );
        }
    }
    Ok(())
}
