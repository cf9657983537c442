//! Opening the catalog and the tables in it.

use crate::config::{CatalogKind, IcebergOptions, Places, Store};
use crate::s3::S3StorageFactory;
use crate::shape::shape_for;
use iceberg::io::{LocalFsStorageFactory, StorageFactory};
use iceberg::spec::FormatVersion;
use iceberg::table::Table;
use iceberg::transaction::{ApplyTransactionAction, Transaction};
use iceberg::{Catalog, CatalogBuilder, NamespaceIdent, TableCreation, TableIdent};
use iceberg_catalog_rest::RestCatalogBuilder;
use iceberg_catalog_sql::SqlCatalogBuilder;
use qdp_sdk::{PluginError, Result};
use std::collections::HashMap;
use std::sync::Arc;

/// An Iceberg error as a plugin error: commit conflicts and I/O are worth a
/// retry, the rest is reported as it is.
pub fn ice(what: &str) -> impl Fn(iceberg::Error) -> PluginError + '_ {
    move |e| {
        let retry = matches!(
            e.kind(),
            iceberg::ErrorKind::CatalogCommitConflicts | iceberg::ErrorKind::Unexpected
        ) || e.retryable();
        PluginError::external(format!("{what}: {e}")).retryable(retry)
    }
}

/// Connects to the catalog `o` names (the SQL one creates its tables on
/// first use) and makes sure the namespace exists.
pub async fn connect(o: &IcebergOptions, p: &Places) -> Result<Arc<dyn Catalog>> {
    if let Some(dir) = p
        .sqlite_file()
        .and_then(|f| std::path::Path::new(f).parent())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            PluginError::external(format!("catalog directory {}: {e}", dir.display()))
        })?;
    }
    let storage: Arc<dyn StorageFactory> = match &p.store {
        Store::Local(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| PluginError::external(format!("warehouse {}: {e}", dir.display())))?;
            Arc::new(LocalFsStorageFactory)
        }
        Store::S3(s) => Arc::new(S3StorageFactory(s.clone())),
    };
    let props = HashMap::from([
        ("uri".to_string(), p.catalog_uri.clone()),
        ("warehouse".to_string(), p.warehouse.clone()),
    ]);
    let catalog: Arc<dyn Catalog> = match o.catalog {
        CatalogKind::Sql => {
            let style = if p.catalog_uri.starts_with("sqlite:") {
                "QMark"
            } else {
                "DollarNumeric"
            };
            let mut props = props;
            props.insert("sql_bind_style".into(), style.into());
            Arc::new(
                SqlCatalogBuilder::default()
                    .with_storage_factory(storage)
                    .load(&o.catalog_name, props)
                    .await
                    .map_err(ice("cannot open the SQL catalog"))
                    .map_err(|e| e.with_context("catalog_uri", redact(&p.catalog_uri)))?,
            )
        }
        CatalogKind::Rest => Arc::new(
            RestCatalogBuilder::default()
                .with_storage_factory(storage)
                .load(&o.catalog_name, props)
                .await
                .map_err(ice("cannot open the REST catalog"))
                .map_err(|e| e.with_context("catalog_uri", &p.catalog_uri))?,
        ),
    };
    let ns = NamespaceIdent::new(o.namespace.clone());
    if !catalog
        .namespace_exists(&ns)
        .await
        .map_err(ice("cannot list namespaces"))?
    {
        catalog
            .create_namespace(&ns, HashMap::new())
            .await
            .map_err(ice("cannot create the namespace"))
            .map_err(|e| e.with_context("namespace", &o.namespace))?;
    }
    Ok(catalog)
}

/// `postgres://user:secret@host/db` without the secret, for messages.
pub fn redact(uri: &str) -> String {
    match (uri.find("://"), uri.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let user = &uri[s + 3..at];
            let user = user.split(':').next().unwrap_or(user);
            format!("{}{user}@{}", &uri[..s + 3], &uri[at + 1..])
        }
        _ => uri.to_string(),
    }
}

/// Loads `category`'s table, creating it (format v3: nanosecond
/// timestamps) or adding the nullable columns its category gained since.
/// `arrow` is the batches' schema, which shapes raw categories' tables.
pub async fn table(
    catalog: &dyn Catalog,
    o: &IcebergOptions,
    name: &str,
    category: &str,
    arrow: &qdp_sdk::arrow::datatypes::Schema,
) -> Result<Table> {
    let namespace = o.namespace.as_str();
    let ident = TableIdent::new(NamespaceIdent::new(namespace.to_string()), name.to_string());
    let shape = shape_for(category, arrow)?;
    let exists = catalog
        .table_exists(&ident)
        .await
        .map_err(ice("cannot look up the table"))?;
    if !exists {
        let schema = shape.schema()?;
        let spec = shape.partition_spec(&schema, o.time_partition)?;
        let creation = TableCreation::builder()
            .name(name.to_string())
            .schema(schema)
            .partition_spec(spec)
            .format_version(FormatVersion::V3)
            .properties([
                ("qdp.category".to_string(), category.to_string()),
                (
                    "write.parquet.compression-codec".to_string(),
                    "zstd".to_string(),
                ),
            ])
            .build();
        match catalog.create_table(&ident.namespace, creation).await {
            Ok(t) => return Ok(t),
            // Another writer created it first: use theirs.
            Err(e) if e.kind() == iceberg::ErrorKind::TableAlreadyExists => {}
            Err(e) => return Err(ice("cannot create the table")(e).with_context("table", name)),
        }
    }
    let t = catalog
        .load_table(&ident)
        .await
        .map_err(ice("cannot load the table"))
        .map_err(|e| e.with_context("table", name))?;
    let add = shape.missing_from(t.metadata().current_schema())?;
    if add.is_empty() {
        return Ok(t);
    }
    let added = add.len();
    let tx = Transaction::new(&t);
    let action = add
        .into_iter()
        .fold(tx.update_schema(), |a, c| a.add_column(c));
    let tx = action.apply(tx).map_err(ice("schema change"))?;
    let t = tx
        .commit(catalog)
        .await
        .map_err(ice("cannot add the category's new columns"))
        .map_err(|e| e.with_context("table", name))?;
    tracing::info!(table = name, added, "iceberg table gained nullable columns");
    Ok(t)
}
