//! The gold SQL folder: `*.sql` files run in name order. They are run in the
//! write's transaction (so silver and gold change together or not at all)
//! under an advisory lock (so two sinks never replace the same view at
//! once). `{bronze}`, `{silver}`, `{gold}` and `{ops}` in a file are
//! replaced by the configured schema names; plain `silver.` works with the
//! defaults.

use crate::config::Checked;
use crate::ddl::render;
use crate::pgerror::convert;
use qdp_sdk::{PluginError, Result};
use std::path::Path;
use tokio_postgres::Transaction;

/// Advisory lock key of gold runs ("qdpgold" in ASCII).
const GOLD_LOCK: i64 = 0x0071_6470_676f_6c64;

/// The `*.sql` files of `dir` in name order, with their text.
pub fn files(dir: &Path) -> Result<Vec<(String, String)>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        PluginError::config(format!("gold_sql_dir cannot be read: {e}"))
            .with_context("dir", dir.display())
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| PluginError::config(format!("gold_sql_dir: {e}")))?
            .path();
        if path.extension().is_some_and(|x| x == "sql") && path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                PluginError::config(format!("gold SQL file cannot be read: {e}"))
                    .with_context("file", path.display())
            })?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((name, text));
        }
    }
    out.sort();
    Ok(out)
}

/// Runs every file of the gold folder, if one is configured.
pub async fn run(tx: &Transaction<'_>, c: &Checked) -> Result<usize> {
    let Some(dir) = &c.gold_sql_dir else {
        return Ok(0);
    };
    let files = files(dir)?;
    tx.execute("select pg_advisory_xact_lock($1)", &[&GOLD_LOCK])
        .await
        .map_err(|e| convert(c, &e, "lock gold"))?;
    for (name, sql) in &files {
        tx.batch_execute(&render(sql, &c.schemas))
            .await
            .map_err(|e| convert(c, &e, &format!("gold SQL {name}")).with_context("file", name))?;
    }
    Ok(files.len())
}
