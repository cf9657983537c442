//! Data-quality gates of the warehouse loads. Every write of the sink (a
//! load) is measured per category before anything is written (rows in,
//! qualified, unqualified, nulls per nullable field) and, after the gold
//! SQL ran in its transaction, per configured gold view. A crossed
//! threshold fails the load: nothing of it is published, the `failed` rows
//! are committed on their own, one alert goes out per distinct load, and
//! the write returns an error, so the runtime does not acknowledge the
//! batches and the source's checkpoint stays where it was.

pub mod alert;
pub mod gold;
pub mod measure;
pub mod options;
pub mod record;

pub use options::{CategoryGate, Gates, GoldGate, QualityOptions};
pub use record::Loader;

use crate::config::Checked;
use crate::sink::WriteReport;
use qdp_sdk::{Batch, PluginError, Result};
use record::{Judged, JudgedGold};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Feeds written bytes to a hash.
struct Hashing<'a>(&'a mut Sha256);

impl std::io::Write for Hashing<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The identity of a load: SHA-256 over every batch's category, origin,
/// producer, seq and rows (in Arrow IPC form). The same batches retried
/// give the same key; a source that re-reads its data with new
/// `ingestion_time`s gives a new one.
pub fn load_key(batches: &[Batch]) -> Result<String> {
    let mut h = Sha256::new();
    for b in batches {
        let m = &b.meta;
        h.update(format!("{}\0{}\0{}\0{}\0", m.category, m.origin, m.producer, m.seq).as_bytes());
        let mut w =
            qdp_sdk::arrow::ipc::writer::StreamWriter::try_new(Hashing(&mut h), &b.data.schema())?;
        w.write(&b.data)?;
        w.finish()?;
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether any row or view failed.
pub fn tripped(rows: &[Judged], gold: &[JudgedGold]) -> bool {
    rows.iter().any(|r| r.2.is_some()) || gold.iter().any(|g| g.2.is_some())
}

fn reasons(rows: &[Judged], gold: &[JudgedGold]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| r.2.clone())
        .chain(gold.iter().filter_map(|g| g.2.clone()))
        .collect()
}

/// Measures and judges every category of `batches`.
pub fn judge_inputs(batches: &[Batch], gates: &Gates) -> Vec<Judged> {
    measure::measure(batches, gates)
        .into_iter()
        .map(|m| {
            let (thresholds, reason) = measure::judge(&m, gates);
            (m, thresholds, reason)
        })
        .collect()
}

/// Measures and judges the configured gold views (after a gold refresh).
pub async fn judge_gold<C: tokio_postgres::GenericClient>(
    db: &C,
    c: &Checked,
) -> Result<Vec<JudgedGold>> {
    let measured = gold::measure(db, c, &c.quality.gold).await?;
    Ok(measured
        .into_iter()
        .zip(&c.quality.gold)
        .map(|(m, g)| {
            let (thresholds, reason) = gold::judge(&m, g);
            (m, thresholds, reason)
        })
        .collect())
}

/// Fills rows out and unchanged of every category from what the write did.
pub fn count_out(rows: &mut [Judged], report: &WriteReport, c: &Checked) {
    for (m, _, _) in rows.iter_mut() {
        let (out, unchanged) = if let Some(dataset) = m.category.strip_prefix("bronze_") {
            let a = report
                .appends
                .get(&format!("{}.{dataset}", c.schemas.bronze))
                .copied()
                .unwrap_or_default();
            (a.inserted, a.skipped)
        } else {
            let u = report
                .upserts
                .get(&format!("{}.{}", c.schemas.silver, m.category))
                .copied()
                .unwrap_or_default();
            (u.changed(), u.unchanged)
        };
        m.out = out;
        m.unchanged = unchanged;
    }
}

/// A tripped gate: records the failure, alerts once per distinct load,
/// and returns the error the write reports.
pub async fn trip(
    client: &mut tokio_postgres::Client,
    c: &Checked,
    key: &str,
    who: &Loader,
    rows: &[Judged],
    gold: &[JudgedGold],
) -> Result<PluginError> {
    let why = reasons(rows, gold).join("; ");
    let short = key.get(..16).unwrap_or(key);
    // Nothing of the load is published: categories that passed fail with it.
    let rows: Vec<Judged> = rows
        .iter()
        .cloned()
        .map(|(m, t, r)| {
            (
                m,
                t,
                r.or_else(|| Some(format!("load not published: {why}"))),
            )
        })
        .collect();
    let gold: Vec<JudgedGold> = gold.iter().filter(|g| g.2.is_some()).cloned().collect();
    let (rows, gold) = (&rows[..], &gold[..]);
    let f = record::failed(client, c, key, who, rows, gold).await?;
    if f.seen_before {
        tracing::warn!(load = short, attempts = f.attempts, reason = %why, alerted = f.alerted, "data-quality gate still failing; load not published, rows stay unacknowledged");
    } else {
        tracing::error!(load = short, reason = %why, "data-quality gate failed; load not published, rows stay unacknowledged and come again");
    }
    if let Some(url) = &c.quality.alert_webhook
        && !f.alerted
    {
        let doc = json!({
            "event": "load_quality_failed",
            "pipeline": who.pipeline,
            "component": who.component,
            "load_key": key,
            "attempts": f.attempts,
            "categories": rows.iter().map(|(m, t, r)| json!({
                "category": m.category, "origins": m.origins, "rows_in": m.rows_in(),
                "rows_unqualified": m.unqualified, "null_counts": m.nulls,
                "thresholds": t, "reason": r,
            })).collect::<Vec<_>>(),
            "gold": gold.iter().map(|(g, t, r)| json!({
                "view": g.view, "row_count": g.rows, "null_counts": g.nulls,
                "thresholds": t, "reason": r,
            })).collect::<Vec<_>>(),
            "message": why,
        });
        if alert::send(&url.0, &doc).await {
            record::alerted(client, c, key, who).await?;
        } else {
            tracing::error!(
                load = short,
                "quality alert not delivered; it is tried again at the load's next attempt"
            );
        }
    }
    Ok(PluginError::config(format!(
        "data-quality gate failed, nothing of this load was published: {why}. \
         The rows stay unacknowledged and come again: fix the source, or raise the threshold \
         named above in the sink's quality options and restart"
    ))
    .with_context("load", short))
}
