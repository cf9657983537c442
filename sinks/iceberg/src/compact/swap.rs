//! Making the compaction visible: the SQL catalog's pointer moved from the
//! metadata file compaction started from to the new one, in one
//! compare-and-swap `UPDATE` on the Iceberg JDBC catalog's `iceberg_tables`
//! (the layout iceberg-catalog-sql, pyiceberg and Java share). It is the
//! same statement the catalog runs for its own commits, so a sink
//! committing at the same moment and this swap cannot both win.

use qdp_sdk::{PluginError, Result};
use sqlx::Connection;

/// What a lost race reports: the files compaction wrote are referenced by
/// nothing, and the table is exactly as the concurrent commit left it.
pub const MOVED: &str = "the table moved while compacting; nothing was replaced; run again";

const SWAP: &str = "UPDATE iceberg_tables \
     SET metadata_location = ?, previous_metadata_location = ? \
     WHERE catalog_name = ? AND table_namespace = ? AND table_name = ? \
     AND metadata_location = ?";

/// Points `catalog`'s `namespace.table` at `new` if it still points at
/// `old`; an error naming the race when it does not.
pub(crate) async fn swap(
    uri: &str,
    catalog: &str,
    namespace: &str,
    table: &str,
    old: &str,
    new: &str,
) -> Result<()> {
    let failed = |e: sqlx::Error| {
        PluginError::external(format!("catalog database: {e}"))
            .with_context("catalog_uri", crate::catalog::redact(uri))
    };
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(uri).await.map_err(failed)?;
    let sql = if uri.starts_with("sqlite:") {
        SWAP.to_string()
    } else {
        numbered(SWAP)
    };
    let done = sqlx::query(&sql)
        .bind(new)
        .bind(old)
        .bind(catalog)
        .bind(namespace)
        .bind(table)
        .bind(old)
        .execute(&mut db)
        .await
        .map_err(failed)?;
    let _ = db.close().await;
    if done.rows_affected() == 0 {
        return Err(
            PluginError::external(MOVED).with_context("table", format!("{namespace}.{table}"))
        );
    }
    Ok(())
}

/// `?` placeholders as Postgres' `$1, $2, ...`.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn postgres_gets_numbered_placeholders() {
        assert_eq!(super::numbered("a = ? AND b = ?"), "a = $1 AND b = $2");
    }
}
