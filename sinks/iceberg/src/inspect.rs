//! Reading back what the sink committed: for the demo, the benchmarks and
//! tests, and any embedding program that wants to check a table.

use crate::catalog::{connect, ice};
use crate::config::IcebergOptions;
use futures_util::TryStreamExt;
use iceberg::table::Table;
use iceberg::{Catalog, NamespaceIdent, TableIdent};
use qdp_sdk::arrow::array::RecordBatch;
use qdp_sdk::{PluginError, Result};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

/// The catalog `o` names (defaults resolved under `data_dir`).
pub async fn open(o: &IcebergOptions, data_dir: Option<&Path>) -> Result<Arc<dyn Catalog>> {
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
    let tasks: Vec<_> = t
        .scan()
        .build()
        .map_err(ice("scan"))?
        .plan_files()
        .await
        .map_err(ice("plan files"))?
        .try_collect()
        .await
        .map_err(ice("plan files"))?;
    Ok(tasks.into_iter().map(|t| t.data_file_path).collect())
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
