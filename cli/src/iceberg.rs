//! `qdp iceberg tables PIPELINE`: what the pipeline's `iceberg` sinks hold,
//! and how another engine reads it. `qdp iceberg compact PIPELINE`: their
//! small data files merged, one replace snapshot per table.

use clap::Subcommand;
use qdp_core::config::load_pipeline;
use qdp_iceberg::{IcebergOptions, compact, inspect};
use std::path::{Path, PathBuf};

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
    /// For every `iceberg` sink of a pipeline file: rewrite the small data
    /// files of each partition into files of about `target_file_size_bytes`,
    /// one `replace` snapshot per table (SQL catalogs only). Old files stay
    /// until snapshots are expired.
    Compact {
        /// The pipeline file.
        pipeline: PathBuf,
        /// Only this table (name within the sink's namespace).
        #[arg(long)]
        table: Option<String>,
    },
}

/// Runs an iceberg subcommand.
pub async fn main(cmd: IcebergCommand) -> Result<(), String> {
    match cmd {
        IcebergCommand::Tables { pipeline } => tables(pipeline).await,
        IcebergCommand::Compact { pipeline, table } => compact(pipeline, table).await,
    }
}

/// Every `iceberg` sink of the pipeline: its id, options and data directory.
fn iceberg_sinks(pipeline: &Path) -> Result<Vec<(String, IcebergOptions, PathBuf)>, String> {
    let cfg = load_pipeline(pipeline).map_err(|e| e.to_string())?;
    let sinks = cfg
        .components
        .iter()
        .filter(|c| c.type_name == "iceberg")
        .map(|c| {
            let o: IcebergOptions = serde_json::from_value(c.options.clone())
                .map_err(|e| format!("{}: sinks.{}: {e}", pipeline.display(), c.id))?;
            Ok((c.id.clone(), o, cfg.data_dir.join("components").join(&c.id)))
        })
        .collect::<Result<Vec<_>, String>>()?;
    if sinks.is_empty() {
        return Err(format!(
            "{}: no sink of type \"iceberg\"",
            pipeline.display()
        ));
    }
    Ok(sinks)
}

async fn compact(pipeline: PathBuf, table: Option<String>) -> Result<(), String> {
    let mut found = false;
    for (id, o, data_dir) in iceberg_sinks(&pipeline)? {
        let reports = compact::compact(&o, Some(&data_dir), table.as_deref())
            .await
            .map_err(|e| format!("sinks.{id}: {e}"))?;
        if reports.is_empty() && table.is_none() {
            println!("sinks.{id}: no tables yet in namespace {}", o.namespace);
        }
        found |= !reports.is_empty();
        for r in reports {
            if r.partitions == 0 {
                println!(
                    "{}: nothing to compact ({} data files)",
                    r.table, r.live_files
                );
            } else {
                println!(
                    "{}: {} partitions, {} files -> {}, {} rows, {:.1} MB",
                    r.table,
                    r.partitions,
                    r.files_before,
                    r.files_after,
                    r.rows,
                    r.bytes_after as f64 / 1e6
                );
            }
        }
    }
    match table {
        Some(t) if !found => Err(format!(
            "{}: no iceberg sink has a table named {t}",
            pipeline.display()
        )),
        _ => Ok(()),
    }
}

async fn tables(pipeline: PathBuf) -> Result<(), String> {
    for (id, o, data_dir) in iceberg_sinks(&pipeline)? {
        let places = o.places(Some(&data_dir))?;
        println!(
            "sinks.{}: catalog {} ({}), warehouse {}",
            id,
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
