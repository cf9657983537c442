//! `qdp iceberg compact`: the small data files of each partition rewritten
//! into files of about `target_file_size_bytes`, committed as one `replace`
//! snapshot, so readers see the same rows in fewer files.
//!
//! The sink writes one snapshot per checkpoint, so a table collects many
//! small files; every reader pays for each one (a footer read, a request to
//! the bucket). Compaction:
//!
//! 1. reads the live files of the current snapshot from its manifests and
//!    picks, per partition, the small files worth merging (`plan.rs`);
//! 2. writes their rows into new files with the sink's writer stack, fitted
//!    to the current schema (`rewrite.rs`);
//! 3. writes the replace snapshot: one manifest per partition spec holding
//!    every live file (new ADDED, untouched EXISTING, replaced DELETED), a
//!    manifest list and the next metadata file (`commit.rs`); the snapshot
//!    carries every `qdp.*` summary key forward, the sink's marks included;
//! 4. swaps the SQL catalog's pointer with a compare-and-swap (`swap.rs`):
//!    if a sink committed meanwhile, nothing is replaced and the run says so.
//!
//! Old data files are never deleted: older snapshots still reference them
//! until snapshots are expired. A REST catalog is refused: its commits go
//! through the server, which this path does not speak.

mod commit;
mod plan;
mod rewrite;
mod swap;

pub use commit::COMPACTION_KEY;
pub use swap::MOVED;

use crate::catalog::connect;
use crate::config::{CatalogKind, IcebergOptions, Places};
use crate::inspect;
use iceberg::table::Table;
use qdp_sdk::{PluginError, Result};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// What compaction did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    /// `namespace.name`.
    pub table: String,
    /// Partitions rewritten; 0 when none qualified and nothing was committed.
    pub partitions: usize,
    /// Data files replaced.
    pub files_before: usize,
    /// Data files that replaced them.
    pub files_after: usize,
    /// Rows moved.
    pub rows: u64,
    /// Bytes of the replaced files.
    pub bytes_before: u64,
    /// Bytes of the new files.
    pub bytes_after: u64,
    /// Live data files of the table once the run is done.
    pub live_files: usize,
}

/// A compaction whose files are written but not visible yet;
/// [`Staged::swap`] makes it the table's current state.
#[derive(Debug)]
pub struct Staged {
    report: TableReport,
    namespace: String,
    name: String,
    /// (metadata file compaction started from, the new one); `None` when
    /// nothing qualified.
    pointer: Option<(String, String)>,
}

impl Staged {
    /// What the swap will commit.
    pub fn report(&self) -> &TableReport {
        &self.report
    }

    /// Points the catalog at the new metadata file if it still points at
    /// the one compaction started from; otherwise an error ([`MOVED`]) and
    /// the table as the concurrent commit left it.
    pub async fn swap(self, o: &IcebergOptions, places: &Places) -> Result<TableReport> {
        let Some((old, new)) = &self.pointer else {
            return Ok(self.report);
        };
        sql_only(o)?;
        swap::swap(
            &places.catalog_uri,
            &o.catalog_name,
            &self.namespace,
            &self.name,
            old,
            new,
        )
        .await?;
        tracing::info!(
            table = self.report.table,
            partitions = self.report.partitions,
            files_before = self.report.files_before,
            files_after = self.report.files_after,
            "iceberg compaction committed"
        );
        Ok(self.report)
    }
}

fn sql_only(o: &IcebergOptions) -> Result<()> {
    match o.catalog {
        CatalogKind::Sql => Ok(()),
        CatalogKind::Rest => Err(PluginError::config(
            "compaction needs a SQL catalog (sqlite or postgres catalog_uri): it swaps the table pointer in the catalog database itself",
        )),
    }
}

/// Plans and writes the compaction of `t` without making it visible.
pub async fn stage(t: &Table, o: &IcebergOptions) -> Result<Staged> {
    let ident = t.identifier();
    let namespace = ident.namespace().join(".");
    let name = ident.name().to_string();
    let live = plan::live_files(t).await?;
    let plan = plan::plan(live, o.target_file_size_bytes);
    let live_files = plan.live.len();
    let mut report = TableReport {
        table: format!("{namespace}.{name}"),
        partitions: plan.chosen.len(),
        files_before: 0,
        files_after: 0,
        rows: 0,
        bytes_before: 0,
        bytes_after: 0,
        live_files,
    };
    if plan.chosen.is_empty() {
        return Ok(Staged {
            report,
            namespace,
            name,
            pointer: None,
        });
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let tag = format!("qdp-compact-{}-{nanos:x}", std::process::id());
    let added = rewrite::rewrite(t, o, &plan.live, &plan.chosen, &tag).await?;
    let old = plan
        .chosen
        .iter()
        .flat_map(|p| p.files.iter().map(|&i| &plan.live[i].file));
    (report.files_before, report.rows, report.bytes_before) = plan::totals(old);
    (report.files_after, _, report.bytes_after) = plan::totals(added.iter().flatten());
    report.live_files = live_files - report.files_before + report.files_after;
    let new = commit::write(t, &plan, &added, &tag).await?;
    let old = t
        .metadata_location()
        .ok_or_else(|| PluginError::internal("the table has no metadata location"))?
        .to_string();
    Ok(Staged {
        report,
        namespace,
        name,
        pointer: Some((old, new)),
    })
}

/// Compacts every table of `o`'s namespace, or only `table` (no report
/// when it does not exist), one replace snapshot per table that has
/// partitions worth it.
pub async fn compact(
    o: &IcebergOptions,
    data_dir: Option<&Path>,
    table: Option<&str>,
) -> Result<Vec<TableReport>> {
    sql_only(o)?;
    let places = o.places(data_dir).map_err(PluginError::config)?;
    let catalog = connect(o, &places).await?;
    let names = match table {
        Some(t) => vec![t.to_string()],
        None => inspect::list(catalog.as_ref(), &o.namespace).await?,
    };
    let mut reports = Vec::with_capacity(names.len());
    for name in names {
        let Some(t) = inspect::load(catalog.as_ref(), &o.namespace, &name).await? else {
            continue;
        };
        let staged = stage(&t, o)
            .await
            .map_err(|e| e.with_context("table", format!("{}.{name}", o.namespace)))?;
        reports.push(staged.swap(o, &places).await?);
    }
    Ok(reports)
}
