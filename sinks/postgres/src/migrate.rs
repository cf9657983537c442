//! Versioned migrations, applied at open inside one transaction under an
//! advisory lock, so two sinks starting at once apply each step once.
//!
//! `ops.schema_migrations` records every step with the SHA-256 of its SQL
//! text. Steps are the embedded files in `migrations/` (version `0001`...)
//! and the generated category tables (version `category:<name>:v<n>`). A
//! recorded step whose text has changed is an error: the database was built
//! by a different definition and nobody should guess how to reconcile it.

use crate::config::Schemas;
use crate::ddl;
use crate::ident::quote;
use qdp_sdk::PluginError;

/// Advisory lock key of migrations (any constant; "qdpmigr" in ASCII).
pub const MIGRATION_LOCK: i64 = 0x0071_6470_6d69_6772;

/// One step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Version id.
    pub version: String,
    /// What it does.
    pub name: String,
    /// SQL with placeholders.
    pub sql: String,
}

impl Step {
    /// Hex SHA-256 of the SQL text (placeholders unrendered).
    pub fn checksum(&self) -> String {
        qdp_sdk::raw::sha256_hex(self.sql.as_bytes())
    }
}

const FILES: &[(&str, &str, &str)] = &[
    (
        "0001",
        "schemas",
        include_str!("../migrations/0001_schemas.sql"),
    ),
    (
        "0002",
        "raw_object",
        include_str!("../migrations/0002_raw_object.sql"),
    ),
    (
        "0003",
        "release_load",
        include_str!("../migrations/0003_release_load.sql"),
    ),
    (
        "0004",
        "load_quality",
        include_str!("../migrations/0004_load_quality.sql"),
    ),
];

/// Every step in order: the files, then one per category schema.
pub fn steps() -> Vec<Step> {
    let mut out: Vec<Step> = FILES
        .iter()
        .map(|(v, n, sql)| Step {
            version: (*v).to_string(),
            name: (*n).to_string(),
            sql: (*sql).to_string(),
        })
        .collect();
    for c in qdp_sdk::schema::registry().all() {
        out.push(Step {
            version: format!("category:{}:v{}", c.name, c.version),
            name: format!("silver.{} from category schema v{}", c.name, c.version),
            sql: ddl::category_table(c),
        });
    }
    out
}

/// What `apply` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Versions applied now.
    pub applied: Vec<String>,
    /// Versions already there.
    pub present: usize,
}

/// The bootstrap: the ops schema and the migrations table.
fn bootstrap(s: &Schemas) -> String {
    let ops = quote(&s.ops);
    format!(
        "create schema if not exists {ops};
         create table if not exists {ops}.schema_migrations (
             version    text primary key,
             name       text not null,
             checksum   text not null,
             applied_at timestamptz not null default now()
         );"
    )
}

/// Applies what is missing. Errors are returned raw so the caller can
/// classify them; a changed checksum is a config error.
pub async fn apply(
    client: &mut tokio_postgres::Client,
    s: &Schemas,
) -> Result<Result<Applied, PluginError>, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute("select pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(&bootstrap(s)).await?;
    let table = format!("{}.schema_migrations", quote(&s.ops));
    let rows = tx
        .query(&format!("select version, checksum from {table}"), &[])
        .await?;
    let recorded: std::collections::HashMap<String, String> = rows
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
        .collect();
    let mut out = Applied::default();
    for step in steps() {
        let sum = step.checksum();
        match recorded.get(&step.version) {
            Some(old) if *old == sum => out.present += 1,
            Some(old) => {
                return Ok(Err(PluginError::config(format!(
                    "migration {} ({}) was applied with checksum {old}, this build has {sum}: \
                     the definition changed after it was applied; bump the schema version or \
                     migrate the database by hand",
                    step.version, step.name
                ))
                .with_context("table", &table)));
            }
            None => {
                tx.batch_execute(&ddl::render(&step.sql, s)).await?;
                tx.execute(
                    &format!("insert into {table} (version, name, checksum) values ($1, $2, $3)"),
                    &[&step.version, &step.name, &sum],
                )
                .await?;
                out.applied.push(step.version);
            }
        }
    }
    tx.commit().await?;
    Ok(Ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_ordered_unique_and_cover_every_category() {
        let s = steps();
        let mut versions: Vec<&str> = s.iter().map(|s| s.version.as_str()).collect();
        assert_eq!(&versions[..4], &["0001", "0002", "0003", "0004"]);
        assert!(versions.contains(&"category:numeric_economic_data:v1"));
        assert_eq!(
            s.len(),
            FILES.len() + qdp_sdk::schema::registry().all().count()
        );
        versions.dedup();
        assert_eq!(versions.len(), s.len());
        assert_eq!(s[0].checksum().len(), 64);
    }
}
