//! A configured table checked against the database's catalogue: which
//! columns exist, their types, and what the bronze rows look like.

use crate::config::TableOptions;
use qdp_sdk::{PluginError, Result};

/// One column as the catalogue describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// Base type name, lower case (`int4`, `timestamptz`, `datetime`, `varbinary`).
    pub base_type: String,
    /// Full type as the database writes it (`numeric(12,2)`, `int(10) unsigned`).
    pub full_type: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
}

/// A configured table, resolved against the catalogue.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// Schema (Postgres) or database (MySQL).
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Bronze dataset name.
    pub dataset: String,
    /// Data columns, in output order.
    pub columns: Vec<ColumnInfo>,
    /// Primary key columns.
    pub pk: Vec<ColumnInfo>,
    /// The watermark column.
    pub updated_at: ColumnInfo,
    /// Soft-delete marker: column and the text meaning deleted (None: not null means deleted).
    pub deleted: Option<(ColumnInfo, Option<String>)>,
}

impl TableSpec {
    /// `schema.table`, the `_source_object` of its rows.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// Category (and port) of its rows.
    pub fn category(&self) -> String {
        bronze_category(&self.dataset)
    }

    /// Every column a page query renders: data columns, then `updated_at`,
    /// the primary key and the delete marker (the row's id and flags are
    /// built from these even when `columns` leaves them out).
    pub fn rendered(&self) -> Vec<&ColumnInfo> {
        let mut v: Vec<&ColumnInfo> = self.columns.iter().collect();
        v.push(&self.updated_at);
        v.extend(self.pk.iter());
        if let Some((c, _)) = &self.deleted {
            v.push(c);
        }
        v
    }

    /// The key columns whose database text makes the cursor: `updated_at`, then the primary key.
    pub fn keys(&self) -> Vec<&ColumnInfo> {
        std::iter::once(&self.updated_at)
            .chain(self.pk.iter())
            .collect()
    }
}

/// `bronze_<dataset>`.
pub fn bronze_category(dataset: &str) -> String {
    format!("bronze_{dataset}")
}

/// Splits `schema.table`, using `default_schema` when no schema is given.
pub fn split_name(table: &str, default_schema: Option<&str>) -> Result<(String, String)> {
    match table.split_once('.') {
        Some((s, t)) => Ok((s.trim().to_string(), t.trim().to_string())),
        None => match default_schema {
            Some(s) => Ok((s.to_string(), table.trim().to_string())),
            None => Err(PluginError::config(format!(
                "table `{table}` names no database and the url names none; write `database.{table}`"
            ))),
        },
    }
}

/// Checks `t` against the table's catalogue columns (`None`: no such table)
/// and builds its spec. Errors name the table and say what to fix.
pub fn resolve(
    i: usize,
    t: &TableOptions,
    schema: &str,
    name: &str,
    catalogue: Option<Vec<ColumnInfo>>,
    known_tables: &[String],
) -> Result<TableSpec> {
    let qualified = format!("{schema}.{name}");
    let Some(cols) = catalogue else {
        let shown: Vec<&str> = known_tables.iter().take(20).map(String::as_str).collect();
        return Err(PluginError::config(format!(
            "tables[{i}]: table `{qualified}` does not exist or is not visible to this user; fix `table` (tables there: {})",
            if shown.is_empty() { "none".to_string() } else { shown.join(", ") }
        ))
        .with_context("table", &qualified));
    };
    let find = |col: &str, key: &str| -> Result<ColumnInfo> {
        cols.iter().find(|c| c.name == col).cloned().ok_or_else(|| {
            let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
            PluginError::config(format!(
                "tables[{i}]: column `{col}` (in `{key}`) is not in table `{qualified}`; fix `{key}` (its columns: {})",
                names.join(", ")
            ))
            .with_context("table", &qualified)
        })
    };
    let pk = t
        .primary_key
        .iter()
        .map(|c| find(c, "primary_key"))
        .collect::<Result<Vec<_>>>()?;
    if let Some(c) = pk.iter().find(|c| c.nullable) {
        return Err(PluginError::config(format!(
            "tables[{i}]: primary_key column `{}` of `{qualified}` allows NULL, and a row with a NULL key would never be read; declare it NOT NULL or name other columns",
            c.name
        ))
        .with_context("table", &qualified));
    }
    let updated_at = find(&t.updated_at, "updated_at")?;
    let deleted = match &t.deleted {
        Some(d) => Some((find(&d.column, "deleted.column")?, d.value.clone())),
        None => None,
    };
    let columns = match &t.columns {
        Some(list) => list
            .iter()
            .map(|c| find(c, "columns"))
            .collect::<Result<Vec<_>>>()?,
        None => cols.clone(),
    };
    if let Some(c) = columns
        .iter()
        .find(|c| crate::rows::META.contains(&c.name.as_str()) || c.name == crate::rows::DELETED)
    {
        return Err(PluginError::config(format!(
            "tables[{i}]: column `{}` of `{qualified}` has the name of a bronze metadata column; list the other columns in `columns`",
            c.name
        ))
        .with_context("table", &qualified));
    }
    Ok(TableSpec {
        schema: schema.to_string(),
        name: name.to_string(),
        dataset: t.dataset.clone(),
        columns,
        pk,
        updated_at,
        deleted,
    })
}
