//! Staging: a temporary table per step of a write (dropped at commit or
//! rollback), filled with binary COPY, from which one `insert … select`
//! moves the rows into their table.

use crate::config::Checked;
use crate::ident::quote;
use crate::pgerror::convert;
use crate::values::Col;
use qdp_sdk::Result;
use tokio_postgres::Transaction;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::ToSql;

/// The Postgres type name of a staged column.
fn type_name(c: &Col) -> &'static str {
    match c {
        Col::Text(_) => "text",
        Col::F64(_) => "double precision",
        Col::I64(_) => "bigint",
        Col::Ts(_) => "timestamptz",
        Col::Bytes(_) => "bytea",
    }
}

/// Creates the temp table `name` with the columns' names and types.
pub async fn create(
    tx: &Transaction<'_>,
    c: &Checked,
    name: &str,
    columns: &[(String, Col)],
) -> Result<()> {
    let cols: Vec<String> = columns
        .iter()
        .map(|(n, col)| format!("{} {}", quote(n), type_name(col)))
        .collect();
    let sql = format!(
        "create temp table {} ({}) on commit drop",
        quote(name),
        cols.join(", ")
    );
    tx.batch_execute(&sql)
        .await
        .map_err(|e| convert(c, &e, "create staging table"))
}

/// COPYs `rows` rows of `columns` into the temp table `name`.
pub async fn copy(
    tx: &Transaction<'_>,
    c: &Checked,
    name: &str,
    columns: &[(String, Col)],
    rows: usize,
    what: &str,
) -> Result<u64> {
    let names: Vec<String> = columns.iter().map(|(n, _)| quote(n)).collect();
    let sql = format!(
        "copy {} ({}) from stdin (format binary)",
        quote(name),
        names.join(", ")
    );
    let run = async {
        let sink = tx.copy_in(&sql).await?;
        let types: Vec<_> = columns.iter().map(|(_, col)| col.pg_type()).collect();
        let writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
        let mut writer = writer;
        let mut row: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(columns.len());
        for i in 0..rows {
            row.clear();
            row.extend(columns.iter().map(|(_, col)| col.value(i)));
            writer.as_mut().write(&row).await?;
        }
        writer.as_mut().finish().await
    };
    run.await.map_err(|e| convert(c, &e, what))
}
