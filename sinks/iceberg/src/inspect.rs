//! Reading back what the sink committed: for the demo, the benchmarks and
//! tests, and any embedding program that wants to check a table.

use crate::catalog::{connect, ice};
use crate::config::IcebergOptions;
use futures_util::TryStreamExt;
use iceberg::expr::Reference;
use iceberg::scan::{FileScanTask, TableScan};
use iceberg::spec::{Datum, Transform};
use iceberg::table::Table;
use iceberg::{Catalog, NamespaceIdent, TableIdent};
use qdp_sdk::arrow::array::RecordBatch;
use qdp_sdk::{PluginError, Result};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

/// An open catalog, shared by the calls below.
pub type CatalogRef = Arc<dyn Catalog>;

/// The catalog `o` names (defaults resolved under `data_dir`).
pub async fn open(o: &IcebergOptions, data_dir: Option<&Path>) -> Result<CatalogRef> {
    let places = o.places(data_dir).map_err(PluginError::config)?;
    connect(o, &places).await
}

/// `namespace.name`, or `None` when it does not exist yet.
pub async fn load(c: &dyn Catalog, namespace: &str, name: &str) -> Result<Option<Table>> {
    let ident = TableIdent::new(NamespaceIdent::new(namespace.to_string()), name.to_string());
    if !c.table_exists(&ident).await.map_err(ice("table lookup"))? {
        return Ok(None);
    }
    c.load_table(&ident)
        .await
        .map(Some)
        .map_err(ice("load table"))
}

/// Paths of the data files the current snapshot references.
pub async fn data_files(t: &Table) -> Result<BTreeSet<String>> {
    if t.metadata().current_snapshot().is_none() {
        return Ok(BTreeSet::new());
    }
    let tasks = planned(t.scan().build().map_err(ice("scan"))?).await?;
    Ok(tasks.into_iter().map(|t| t.data_file_path).collect())
}

/// The data files a scan reads.
async fn planned(scan: TableScan) -> Result<Vec<FileScanTask>> {
    scan.plan_files()
        .await
        .map_err(ice("plan files"))?
        .try_collect()
        .await
        .map_err(ice("plan files"))
}

/// Every row of the current snapshot.
pub async fn rows(t: &Table) -> Result<Vec<RecordBatch>> {
    if t.metadata().current_snapshot().is_none() {
        return Ok(Vec::new());
    }
    t.scan()
        .select_all()
        .build()
        .map_err(ice("scan"))?
        .to_arrow()
        .await
        .map_err(ice("scan"))?
        .try_collect()
        .await
        .map_err(ice("read"))
}

/// Names of the tables in `namespace`.
pub async fn list(c: &dyn Catalog, namespace: &str) -> Result<Vec<String>> {
    let ns = NamespaceIdent::new(namespace.to_string());
    Ok(c.list_tables(&ns)
        .await
        .map_err(ice("list tables"))?
        .into_iter()
        .map(|t| t.name)
        .collect())
}

/// Rows of `t` whose designated timestamp falls on `day` (UTC), counted
/// from the data files' record counts: the table is partitioned by that
/// day, so the files the planner keeps for the day hold nothing else.
/// `None` when the table has no `day` partition to count by.
pub async fn rows_on_day(t: &Table, day: chrono::NaiveDate) -> Result<Option<u64>> {
    let meta = t.metadata();
    let Some(source) = meta
        .default_partition_spec()
        .fields()
        .iter()
        .find(|f| f.transform == Transform::Day)
        .and_then(|f| meta.current_schema().field_by_id(f.source_id))
        .map(|f| f.name.clone())
    else {
        return Ok(None);
    };
    if meta.current_snapshot().is_none() {
        return Ok(Some(0));
    }
    let start = day
        .and_hms_opt(0, 0, 0)
        .and_then(|d| d.and_utc().timestamp_nanos_opt())
        .ok_or_else(|| PluginError::internal(format!("day {day} is out of range")))?;
    let end = start + 86_400_000_000_000;
    let filter = Reference::new(&source)
        .greater_than_or_equal_to(Datum::timestamptz_nanos(start))
        .and(Reference::new(&source).less_than(Datum::timestamptz_nanos(end)));
    let tasks = planned(t.scan().with_filter(filter).build().map_err(ice("scan"))?).await?;
    let mut rows = 0;
    for task in tasks {
        rows += task.record_count.ok_or_else(|| {
            PluginError::internal(format!("{} has no record count", task.data_file_path))
        })?;
    }
    Ok(Some(rows))
}
