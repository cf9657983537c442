//! Category rows into `silver.<category>`: an upsert on the schema's unique
//! key, so a corrected re-publication overwrites the old value and an
//! unchanged replay changes nothing (not even `loaded_at`).

use crate::config::Checked;
use crate::ddl::{LOAD_FIELDS, value_fields};
use crate::ident::{qualified, quote};
use crate::pgerror::convert;
use crate::stage;
use crate::values::{self, Col};
use qdp_sdk::schema::{CategorySchema, LogicalType};
use qdp_sdk::{Batch, PluginError, Result};
use tokio_postgres::Transaction;

/// What an upsert did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UpsertCounts {
    /// New keys.
    pub inserted: u64,
    /// Keys whose values changed (a revision).
    pub updated: u64,
    /// Rows that changed nothing: replays, and earlier copies of a key
    /// that appears more than once in the write (the last one counts).
    pub unchanged: u64,
}

impl UpsertCounts {
    /// From the number of rows sent and the `inserted` flag of every row
    /// the upsert returned (a row is returned only when it was written).
    pub fn from_returning(sent: u64, inserted_flags: impl IntoIterator<Item = bool>) -> Self {
        let mut c = UpsertCounts::default();
        for f in inserted_flags {
            if f {
                c.inserted += 1;
            } else {
                c.updated += 1;
            }
        }
        c.unchanged = sent.saturating_sub(c.inserted + c.updated);
        c
    }

    /// Adds another count.
    pub fn add(&mut self, o: UpsertCounts) {
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
    }

    /// Rows inserted or updated.
    pub fn changed(&self) -> u64 {
        self.inserted + self.updated
    }
}

fn nulls(t: LogicalType, n: usize) -> Col {
    match t {
        LogicalType::Utf8 => Col::Text(vec![None; n]),
        LogicalType::Float64 => Col::F64(vec![None; n]),
        LogicalType::Int64 => Col::I64(vec![None; n]),
        LogicalType::TimestampNsUtc => Col::Ts(vec![None; n]),
    }
}

/// The batch's columns in schema order, plus the sink's own columns.
fn columns(
    c: &Checked,
    schema: &CategorySchema,
    b: &Batch,
    ord_offset: i64,
) -> Result<Vec<(String, Col)>> {
    let n = b.data.num_rows();
    let table = format!("{}.{}", c.schemas.silver, schema.name);
    if let Some(extra) = b
        .data
        .schema()
        .fields()
        .iter()
        .find(|f| schema.field(f.name()).is_none())
    {
        return Err(PluginError::config(format!(
            "column `{}` is not in category schema {} v{}: the row would lose it",
            extra.name(),
            schema.name,
            schema.version
        ))
        .with_context("table", &table)
        .with_context("origin", &b.meta.origin));
    }
    let mut out = Vec::with_capacity(schema.fields.len() + 3);
    for f in &schema.fields {
        let col = match b.data.column_by_name(&f.name) {
            Some(a) => values::typed(a, f.ty, &f.name)?,
            None if f.nullable => nulls(f.ty, n),
            None => {
                return Err(PluginError::config(format!(
                    "batch has no `{}` column, which category {} requires",
                    f.name, schema.name
                ))
                .with_context("table", &table)
                .with_context("origin", &b.meta.origin));
            }
        };
        out.push((f.name.clone(), col));
    }
    let source_table = format!("{}.{}", b.meta.origin, b.meta.category);
    out.push((
        "source_table_name".into(),
        Col::repeat_text(&source_table, n),
    ));
    out.push((
        "platform_worker_name".into(),
        Col::repeat_text(&c.worker, n),
    ));
    out.push(("_ord".into(), Col::counter(ord_offset, n)));
    Ok(out)
}

/// The upsert from staging table `stage` into the category table.
fn upsert_sql(c: &Checked, schema: &CategorySchema, stage: &str) -> String {
    let target = qualified(&c.schemas.silver, &schema.name);
    let mut cols: Vec<String> = schema.fields.iter().map(|f| quote(&f.name)).collect();
    cols.push("source_table_name".into());
    cols.push("platform_worker_name".into());
    let key: Vec<String> = schema.unique_key.iter().map(|k| quote(k)).collect();
    let values: Vec<String> = value_fields(schema).iter().map(|v| quote(v)).collect();
    let mut set: Vec<String> = values
        .iter()
        .chain(
            LOAD_FIELDS
                .iter()
                .map(|f| quote(f))
                .collect::<Vec<_>>()
                .iter(),
        )
        .map(|v| format!("{v} = excluded.{v}"))
        .collect();
    set.push("source_table_name = excluded.source_table_name".into());
    set.push("platform_worker_name = excluded.platform_worker_name".into());
    set.push("loaded_at = now()".into());
    let old: Vec<String> = values.iter().map(|v| format!("t.{v}")).collect();
    let new: Vec<String> = values.iter().map(|v| format!("excluded.{v}")).collect();
    format!(
        "insert into {target} as t ({cols})
         select distinct on ({key}) {cols} from {stage} order by {key}, _ord desc
         on conflict ({key}) do update set {set}
         where ({old}) is distinct from ({new})
         returning (t.xmax = 0)",
        cols = cols.join(", "),
        key = key.join(", "),
        stage = quote(stage),
        set = set.join(", "),
        old = old.join(", "),
        new = new.join(", "),
    )
}

/// Upserts every batch of one category; `stage` names the staging table.
pub async fn upsert(
    tx: &Transaction<'_>,
    c: &Checked,
    schema: &CategorySchema,
    batches: &[&Batch],
    stage: &str,
) -> Result<UpsertCounts> {
    let table = format!("{}.{}", c.schemas.silver, schema.name);
    let mut staged = 0u64;
    let mut created = false;
    for b in batches.iter().filter(|b| b.data.num_rows() > 0) {
        let cols = columns(c, schema, b, staged as i64)?;
        if !created {
            stage::create(tx, c, stage, &cols).await?;
            created = true;
        }
        staged += stage::copy(
            tx,
            c,
            stage,
            &cols,
            b.data.num_rows(),
            &format!("copy into {table}"),
        )
        .await?;
    }
    if !created {
        return Ok(UpsertCounts::default());
    }
    let rows = tx
        .query(&upsert_sql(c, schema, stage), &[])
        .await
        .map_err(|e| convert(c, &e, &format!("upsert into {table}")))?;
    let counts = UpsertCounts::from_returning(staged, rows.iter().map(|r| r.get::<_, bool>(0)));
    if schema.name == "numeric_economic_data" {
        record_first_sight(tx, c, stage).await?;
    }
    Ok(counts)
}

/// Records in `ops.release_load` when each release edition was first loaded.
async fn record_first_sight(tx: &Transaction<'_>, c: &Checked, stage: &str) -> Result<()> {
    let sql = format!(
        "insert into {}.release_load
             (source_system_name, release_code, release_time, reference_period, first_ingested_at, rows_first_load)
         select source_system_name, release_code, release_time, max(reference_period), min(ingestion_time), count(*)
         from {} group by 1, 2, 3
         on conflict do nothing",
        quote(&c.schemas.ops),
        quote(stage)
    );
    tx.execute(&sql, &[])
        .await
        .map(drop)
        .map_err(|e| convert(c, &e, "record release_load"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_returned_flags() {
        let c = UpsertCounts::from_returning(5, [true, true, false]);
        assert_eq!(
            c,
            UpsertCounts {
                inserted: 2,
                updated: 1,
                unchanged: 2
            }
        );
        assert_eq!(c.changed(), 3);
        let mut total = UpsertCounts::from_returning(4, []);
        assert_eq!(total.unchanged, 4);
        total.add(c);
        assert_eq!((total.inserted, total.updated, total.unchanged), (2, 1, 6));
    }
}
