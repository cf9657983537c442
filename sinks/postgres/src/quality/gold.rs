//! Gold views measured after a gold refresh, inside the load's transaction:
//! row count and nulls of the checked columns, judged against `min_rows`
//! and `max_null_ratio`.

use super::measure::share;
use super::options::GoldCheck;
use crate::config::Checked;
use crate::ident::{qualified, quote};
use crate::pgerror::convert;
use qdp_sdk::{PluginError, Result};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tokio_postgres::GenericClient;

/// The figures of one gold view.
#[derive(Debug, Clone, PartialEq)]
pub struct GoldMeasure {
    /// `schema.view`.
    pub view: String,
    /// Rows.
    pub rows: u64,
    /// Checked column → nulls.
    pub nulls: BTreeMap<String, u64>,
}

/// Measures every view of `checks`. A missing view or column is a config
/// error naming the key (checked at open, so it shows before any load).
pub async fn measure<C: GenericClient>(
    db: &C,
    c: &Checked,
    checks: &[GoldCheck],
) -> Result<Vec<GoldMeasure>> {
    let mut out = Vec::with_capacity(checks.len());
    for g in checks {
        let cols: Vec<&String> = g.nulls.keys().collect();
        let mut select = vec!["count(*)::bigint".to_string()];
        select.extend(
            cols.iter()
                .map(|col| format!("count({})::bigint", quote(col))),
        );
        let sql = format!(
            "select {} from {}",
            select.join(", "),
            qualified(&g.schema, &g.name)
        );
        let row = db.query_one(&sql, &[]).await.map_err(|e| {
            let base = convert(c, &e, &format!("measure {}", g.view));
            match e.as_db_error().map(|d| d.code().code()) {
                Some(code) if code.starts_with("42") => PluginError::config(format!(
                    "quality.gold.\"{}\": {}; name a view the gold SQL creates and columns it has",
                    g.view, base.message
                )),
                _ => base,
            }
        })?;
        let rows = row.get::<_, i64>(0).max(0) as u64;
        let nulls = cols
            .iter()
            .enumerate()
            .map(|(i, col)| {
                let present = row.get::<_, i64>(i + 1).max(0) as u64;
                ((*col).clone(), rows.saturating_sub(present))
            })
            .collect();
        out.push(GoldMeasure {
            view: g.view.clone(),
            rows,
            nulls,
        });
    }
    Ok(out)
}

/// The thresholds applied to `m` and, when one is crossed, why.
pub fn judge(m: &GoldMeasure, g: &GoldCheck) -> (Value, Option<String>) {
    let key = format!("quality.gold.\"{}\"", g.view);
    let mut failures = Vec::new();
    if let Some(min) = g.min_rows
        && m.rows < min
    {
        failures.push(format!(
            "{}: {} rows, below {key}.min_rows = {min}",
            m.view, m.rows
        ));
    }
    for (col, limit) in &g.nulls {
        let n = m.nulls.get(col).copied().unwrap_or(0);
        let measured = share(n, m.rows);
        if measured > *limit {
            failures.push(format!(
                "{}: `{col}` is null in {n} of {} rows (ratio {measured:.3}), above {key}.max_null_ratio.{col} = {limit}",
                m.view, m.rows
            ));
        }
    }
    let thresholds = json!({ "min_rows": g.min_rows, "max_null_ratio": g.nulls });
    let reason = (!failures.is_empty()).then(|| failures.join("; "));
    (thresholds, reason)
}
