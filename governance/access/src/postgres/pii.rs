//! Which columns hold personal data: the category schemas' `pii` fields in
//! category tables, and whatever the pipelines' catalogue flags, wherever
//! the rows land (bronze copies, rejects, gold views).

use super::desired::Table;
use crate::error::Error;
use qdp_catalog::model::Store;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// PII columns the catalogue of `postgres.pipelines` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CataloguePii {
    /// `schema.table` → its PII columns.
    pub columns: BTreeMap<String, BTreeSet<String>>,
    /// Schemas holding a *table* with PII columns: readers without `pii`
    /// get no blanket default SELECT there, since a table a pipeline creates
    /// later would be readable whole until the next apply. Views are left
    /// out: gold views are `security_invoker`, so the tables they read decide.
    pub table_schemas: BTreeSet<String>,
}

impl CataloguePii {
    /// Builds the catalogue of `files` (parsed, never run; built-in
    /// component types are enough to classify) and keeps its Postgres
    /// datasets with PII fields. Datasets of every Postgres server the files
    /// name count: the policy's database is not matched to a sink's URL.
    pub fn from_pipelines(files: &[PathBuf]) -> Result<Self, Error> {
        let mut out = Self::default();
        if files.is_empty() {
            return Ok(out);
        }
        let registry = qdp_core::Registry::with_builtins();
        let cat = qdp_catalog::build(&qdp_catalog::Sources {
            pipelines: files.to_vec(),
            gold_sql: None,
            registry: &registry,
        })
        .map_err(|e| Error::Catalogue(e.to_string()))?;
        for d in cat.datasets.iter().filter(|d| d.store == Store::Postgres) {
            let pii = d.pii_fields();
            let Some((schema, _)) = d.name.split_once('.') else {
                continue;
            };
            if pii.is_empty() {
                continue;
            }
            if d.kind == "table" {
                out.table_schemas.insert(schema.to_string());
            }
            out.columns
                .entry(d.name.clone())
                .or_default()
                .extend(pii.into_iter().map(String::from));
        }
        Ok(out)
    }

    /// The PII columns of `t`: the catalogue's, plus, in a `pii_schemas`
    /// schema, the category schema's `pii` fields of a table named
    /// `<category>` or `<category>_unqualified`.
    pub fn of(&self, t: &Table, pii_schemas: &[String]) -> BTreeSet<String> {
        let mut out = self
            .columns
            .get(&format!("{}.{}", t.schema, t.name))
            .cloned()
            .unwrap_or_default();
        if pii_schemas.contains(&t.schema) {
            out.extend(category_columns(&t.name));
        }
        out
    }
}

/// The `pii` fields of the category a table is named after.
fn category_columns(table: &str) -> BTreeSet<String> {
    let category = table.strip_suffix("_unqualified").unwrap_or(table);
    qdp_sdk::schema::registry()
        .get(category)
        .map(|c| c.pii_fields().map(|f| f.name.clone()).collect())
        .unwrap_or_default()
}
