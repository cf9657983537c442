//! All-text tables whose columns come from the batches: internal datasets
//! (`bronze.<dataset>`) and rejects (`silver.<category>_unqualified`).
//!
//! The table is created on first sight and gains a `text` column whenever a
//! batch brings a new one (rows already stored hold NULL there); nothing is
//! dropped or retyped. Rows are inserted with `on conflict do nothing` on a
//! unique key, so a replay adds nothing. The sink's own columns start with
//! `_` so they cannot clash with a source's column such as `loaded_at`.

use crate::config::Checked;
use crate::ident::{check_column, qualified, quote};
use crate::pgerror::convert;
use crate::stage;
use crate::values::{self, Col};
use qdp_sdk::{Batch, PluginError, Result};
use std::collections::HashSet;
use tokio_postgres::Transaction;

/// How one kind of text table looks.
pub struct Layout {
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Columns every table of the kind has, `(name, type and constraints)`,
    /// in table order before the batch's own columns.
    pub fixed: Vec<(&'static str, &'static str)>,
    /// Batch columns that must be there and never null.
    pub required: Vec<&'static str>,
    /// The unique key.
    pub unique: Vec<&'static str>,
}

/// What an append did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AppendCounts {
    /// Rows added.
    pub inserted: u64,
    /// Rows already there (replays, or the same content seen before).
    pub skipped: u64,
}

impl AppendCounts {
    /// Adds another count.
    pub fn add(&mut self, o: AppendCounts) {
        self.inserted += o.inserted;
        self.skipped += o.skipped;
    }
}

/// The layout of `bronze.<dataset>`.
pub fn bronze(c: &Checked, dataset: &str) -> Layout {
    Layout {
        schema: c.schemas.bronze.clone(),
        table: dataset.to_string(),
        fixed: vec![
            ("_row_id", "text not null"),
            ("_source_object", "text not null"),
            ("_source_sha256", "text not null"),
            ("_row_number", "text not null"),
            ("_source_table_name", "text not null"),
            ("_platform_worker_name", "text not null"),
            ("_loaded_at", "timestamptz not null default now()"),
        ],
        required: vec!["_row_id", "_source_object", "_source_sha256", "_row_number"],
        unique: vec!["_row_id"],
    }
}

/// The layout of `silver.<category>_unqualified`.
pub fn unqualified(c: &Checked, category: &str) -> Layout {
    Layout {
        schema: c.schemas.silver.clone(),
        table: category.to_string(),
        fixed: vec![
            ("_origin", "text not null"),
            ("_producer", "text not null"),
            ("_seq", "bigint not null"),
            ("_row_index", "bigint not null"),
            ("_source_table_name", "text not null"),
            ("_platform_worker_name", "text not null"),
            ("_loaded_at", "timestamptz not null default now()"),
        ],
        required: vec!["unqualified_reason"],
        unique: vec!["_origin", "_producer", "_seq", "_row_index"],
    }
}

impl Layout {
    fn name(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    fn is_fixed(&self, col: &str) -> bool {
        self.fixed.iter().any(|(n, _)| *n == col)
    }

    /// Checks the batch's columns: names usable, required ones present and
    /// filled, none claiming a sink column.
    fn check(&self, b: &Batch) -> Result<Vec<String>> {
        let t = self.name();
        let schema = b.data.schema();
        let mut names = Vec::new();
        for f in schema.fields() {
            check_column(f.name(), &t)?;
            if self.is_fixed(f.name()) && !self.required.contains(&f.name().as_str()) {
                return Err(PluginError::config(format!(
                    "column `{}` is one the sink fills itself",
                    f.name()
                ))
                .with_context("table", &t));
            }
            names.push(f.name().clone());
        }
        for r in &self.required {
            match b.data.column_by_name(r) {
                None => {
                    return Err(PluginError::config(format!("batch has no `{r}` column"))
                        .with_context("table", &t)
                        .with_context("origin", &b.meta.origin));
                }
                Some(a) if a.null_count() > 0 => {
                    return Err(PluginError::config(format!(
                        "`{r}` is null in {} row(s): every row needs one",
                        a.null_count()
                    ))
                    .with_context("table", &t)
                    .with_context("origin", &b.meta.origin));
                }
                Some(_) => {}
            }
        }
        Ok(names)
    }

    /// Creates the table if needed and adds the columns it lacks, under an
    /// advisory lock on the table name so concurrent sinks do not race.
    async fn ensure(&self, tx: &Transaction<'_>, c: &Checked, data: &[String]) -> Result<()> {
        let t = qualified(&self.schema, &self.table);
        let err = |e: tokio_postgres::Error| convert(c, &e, &format!("prepare {}", self.name()));
        tx.execute(
            "select pg_advisory_xact_lock(hashtext($1)::bigint)",
            &[&format!("qdp:{}", self.name())],
        )
        .await
        .map_err(err)?;
        let mut cols: Vec<String> = self
            .fixed
            .iter()
            .map(|(n, ty)| format!("{} {ty}", quote(n)))
            .collect();
        cols.extend(
            data.iter()
                .filter(|d| !self.is_fixed(d))
                .map(|d| format!("{} text", quote(d))),
        );
        let unique: Vec<String> = self.unique.iter().map(|u| quote(u)).collect();
        tx.batch_execute(&format!(
            "create table if not exists {t} ({});
             create unique index if not exists {} on {t} ({});",
            cols.join(", "),
            quote(&format!("{}_row_key", self.table)),
            unique.join(", ")
        ))
        .await
        .map_err(err)?;
        let existing: HashSet<String> = tx
            .query(
                "select attname::text from pg_attribute
                 where attrelid = $1::text::regclass and attnum > 0 and not attisdropped",
                &[&t],
            )
            .await
            .map_err(err)?
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect();
        for d in data.iter().filter(|d| !existing.contains(*d)) {
            tracing::info!(table = %self.name(), column = %d, "adding column");
            tx.batch_execute(&format!(
                "alter table {t} add column if not exists {} text",
                quote(d)
            ))
            .await
            .map_err(err)?;
        }
        Ok(())
    }
}

/// Appends one batch; `extra` are the sink's columns for it (name, values).
pub async fn append(
    tx: &Transaction<'_>,
    c: &Checked,
    layout: &Layout,
    b: &Batch,
    extra: Vec<(String, Col)>,
    stage_name: &str,
) -> Result<AppendCounts> {
    let n = b.data.num_rows();
    if n == 0 {
        return Ok(AppendCounts::default());
    }
    let data = layout.check(b)?;
    layout.ensure(tx, c, &data).await?;
    let mut cols = extra;
    for (name, a) in data.iter().zip(b.data.columns()) {
        cols.push((name.clone(), values::text(a, name)?));
    }
    stage::create(tx, c, stage_name, &cols).await?;
    let what = format!("copy into {}", layout.name());
    let staged = stage::copy(tx, c, stage_name, &cols, n, &what).await?;
    let names: Vec<String> = cols.iter().map(|(n, _)| quote(n)).collect();
    let unique: Vec<String> = layout.unique.iter().map(|u| quote(u)).collect();
    let sql = format!(
        "insert into {} ({cols}) select {cols} from {} on conflict ({}) do nothing",
        qualified(&layout.schema, &layout.table),
        quote(stage_name),
        unique.join(", "),
        cols = names.join(", "),
    );
    let inserted = tx
        .execute(&sql, &[])
        .await
        .map_err(|e| convert(c, &e, &format!("insert into {}", layout.name())))?;
    Ok(AppendCounts {
        inserted,
        skipped: staged.saturating_sub(inserted),
    })
}

/// The sink's columns of a reject batch: where each row came from.
pub fn unqualified_extra(c: &Checked, b: &Batch) -> Vec<(String, Col)> {
    let n = b.data.num_rows();
    vec![
        ("_origin".into(), Col::repeat_text(&b.meta.origin, n)),
        ("_producer".into(), Col::repeat_text(&b.meta.producer, n)),
        ("_seq".into(), Col::I64(vec![Some(b.meta.seq as i64); n])),
        ("_row_index".into(), Col::counter(0, n)),
        (
            "_source_table_name".into(),
            Col::repeat_text(&format!("{}.{}", b.meta.origin, b.meta.category), n),
        ),
        (
            "_platform_worker_name".into(),
            Col::repeat_text(&c.worker, n),
        ),
    ]
}

/// The sink's columns of a bronze dataset batch.
pub fn bronze_extra(c: &Checked, b: &Batch) -> Vec<(String, Col)> {
    let n = b.data.num_rows();
    vec![
        (
            "_source_table_name".into(),
            Col::repeat_text(&format!("{}.{}", b.meta.origin, b.meta.category), n),
        ),
        (
            "_platform_worker_name".into(),
            Col::repeat_text(&c.worker, n),
        ),
    ]
}
