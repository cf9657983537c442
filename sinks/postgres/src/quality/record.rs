//! `ops.load_quality` and `ops.gold_quality`: one row per category (per
//! gold view) of every load. A published load's rows commit with its data;
//! a failed load's rows commit on their own, once per distinct load (a
//! retry of the same batches adds to `attempts` of the same row), so the
//! alert is sent once.

use super::gold::GoldMeasure;
use super::measure::Measure;
use crate::config::Checked;
use crate::ident::quote;
use crate::pgerror::convert;
use qdp_sdk::Result;
use serde_json::Value;
use tokio_postgres::{Client, GenericClient};

/// Who loads: the pipeline and the sink's component id.
#[derive(Debug, Clone, Default)]
pub struct Loader {
    /// Pipeline name.
    pub pipeline: String,
    /// Component id of the sink.
    pub component: String,
}

/// A category row to record: its figures, thresholds and failure, if any.
pub type Judged = (Measure, Value, Option<String>);

/// A gold view row to record.
pub type JudgedGold = (GoldMeasure, Value, Option<String>);

/// What recording a failed load found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failed {
    /// This load failed before (a retry of the same batches).
    pub seen_before: bool,
    /// Its alert was delivered to the webhook already.
    pub alerted: bool,
    /// How many times it has failed.
    pub attempts: i32,
}

fn nulls_json(n: &std::collections::BTreeMap<String, u64>) -> Value {
    Value::Object(
        n.iter()
            .map(|(k, v)| (k.clone(), Value::from(*v)))
            .collect(),
    )
}

fn category_sql(c: &Checked, status: &str) -> String {
    let conflict = if status == "failed" {
        "on conflict (load_key, component, category) where status = 'failed' do update set
             attempts = t.attempts + 1, last_attempt_at = now(), reason = excluded.reason"
    } else {
        ""
    };
    format!(
        "insert into {}.load_quality as t (load_key, pipeline, component, category, origins, rows_in,
             rows_qualified, rows_unqualified, rows_out, rows_unchanged, null_counts, thresholds, status, reason)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '{status}', $13) {conflict}
         returning (t.xmax <> 0), t.alerted_at is not null, t.attempts",
        quote(&c.schemas.ops)
    )
}

fn gold_sql(c: &Checked, status: &str) -> String {
    let conflict = if status == "failed" {
        "on conflict (load_key, component, view_name) where status = 'failed' do update set
             attempts = t.attempts + 1, last_attempt_at = now(), reason = excluded.reason"
    } else {
        ""
    };
    format!(
        "insert into {}.gold_quality as t (load_key, pipeline, component, view_name, row_count,
             null_counts, thresholds, status, reason)
         values ($1, $2, $3, $4, $5, $6, $7, '{status}', $8) {conflict}
         returning (t.xmax <> 0), t.alerted_at is not null, t.attempts",
        quote(&c.schemas.ops)
    )
}

async fn insert_all<C: GenericClient>(
    db: &C,
    c: &Checked,
    key: &str,
    who: &Loader,
    status: &str,
    rows: &[Judged],
    gold: &[JudgedGold],
) -> Result<Failed> {
    let mut out = Failed {
        alerted: true,
        ..Failed::default()
    };
    let mut note = |r: &tokio_postgres::Row| {
        out.seen_before |= r.get::<_, bool>(0);
        out.alerted &= r.get::<_, bool>(1);
        out.attempts = out.attempts.max(r.get(2));
    };
    let sql = category_sql(c, status);
    for (m, thresholds, reason) in rows {
        let origins: Vec<String> = m.origins.iter().cloned().collect();
        let n = |v: u64| v as i64;
        let r = db
            .query_one(
                &sql,
                &[
                    &key,
                    &who.pipeline,
                    &who.component,
                    &m.category,
                    &origins,
                    &n(m.rows_in()),
                    &n(m.qualified),
                    &n(m.unqualified),
                    &n(m.out),
                    &n(m.unchanged),
                    &nulls_json(&m.nulls),
                    thresholds,
                    reason,
                ],
            )
            .await
            .map_err(|e| convert(c, &e, "record ops.load_quality"))?;
        note(&r);
    }
    let sql = gold_sql(c, status);
    for (g, thresholds, reason) in gold {
        let r = db
            .query_one(
                &sql,
                &[
                    &key,
                    &who.pipeline,
                    &who.component,
                    &g.view,
                    &(g.rows as i64),
                    &nulls_json(&g.nulls),
                    thresholds,
                    reason,
                ],
            )
            .await
            .map_err(|e| convert(c, &e, "record ops.gold_quality"))?;
        note(&r);
    }
    Ok(out)
}

/// Records a published load inside its transaction, and marks earlier
/// failures of the same batches as released.
pub async fn published(
    tx: &tokio_postgres::Transaction<'_>,
    c: &Checked,
    key: &str,
    who: &Loader,
    rows: &[Judged],
    gold: &[JudgedGold],
) -> Result<()> {
    insert_all(tx, c, key, who, "published", rows, gold).await?;
    for table in ["load_quality", "gold_quality"] {
        let sql = format!(
            "update {}.{table} set released_at = now()
             where load_key = $1 and component = $2 and status = 'failed' and released_at is null",
            quote(&c.schemas.ops)
        );
        tx.execute(&sql, &[&key, &who.component])
            .await
            .map_err(|e| convert(c, &e, "release failed loads"))?;
    }
    Ok(())
}

/// Records a failed load in a transaction of its own.
pub async fn failed(
    client: &mut Client,
    c: &Checked,
    key: &str,
    who: &Loader,
    rows: &[Judged],
    gold: &[JudgedGold],
) -> Result<Failed> {
    let tx = client
        .transaction()
        .await
        .map_err(|e| convert(c, &e, "begin"))?;
    let out = insert_all(&tx, c, key, who, "failed", rows, gold).await?;
    tx.commit()
        .await
        .map_err(|e| convert(c, &e, "commit ops.load_quality"))?;
    Ok(out)
}

/// Notes that the alert of a failed load was delivered.
pub async fn alerted(client: &Client, c: &Checked, key: &str, who: &Loader) -> Result<()> {
    for table in ["load_quality", "gold_quality"] {
        let sql = format!(
            "update {}.{table} set alerted_at = now()
             where load_key = $1 and component = $2 and status = 'failed' and alerted_at is null",
            quote(&c.schemas.ops)
        );
        client
            .execute(&sql, &[&key, &who.component])
            .await
            .map_err(|e| convert(c, &e, "note the alert"))?;
    }
    Ok(())
}
