//! The verdict on each simulated release, from the warehouse, the lake and
//! what the publisher saw.

use super::plan::Release;
use super::publisher::Publisher;
use super::{PIPELINE, SOURCE};
use crate::demo_macro::{files_under, pg_error};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use tokio_postgres::Client;

/// How many of `periods` have a final SLA row (loaded, loaded late, missed).
pub async fn finished(db: &Client, periods: &[String]) -> Result<usize, String> {
    let sql = "select count(*) from ops.release_sla \
               where pipeline = $1 and source = $2 and period = any($3) \
               and (loaded_at is not null or status = 'missed')";
    match db.query_one(sql, &[&PIPELINE, &SOURCE, &periods]).await {
        Ok(r) => Ok(r.get::<_, i64>(0) as usize),
        // The run has not created its ops tables yet.
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => Ok(0),
        Err(e) => Err(format!("{sql}: {}", pg_error(&e))),
    }
}

/// The figures of a run.
#[derive(Debug, Default)]
pub struct Verdict {
    pub loaded_ok: usize,
    pub silently_wrong: usize,
    pub p50_lag_s: f64,
    pub p99_lag_s: f64,
    pub in_lake: usize,
    /// One line per release not loaded right.
    pub problems: Vec<String>,
}

struct Sla {
    status: String,
    loaded_at: Option<DateTime<Utc>>,
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(1.0)
}

/// Checks releases 1.. against `truth` (per release, field → value).
pub async fn check(
    db: &Client,
    releases: &[Release],
    truth: &[BTreeMap<String, f64>],
    publisher: &Publisher,
    lake: &Path,
) -> Result<Verdict, String> {
    let q = |e: tokio_postgres::Error| pg_error(&e);
    let mut stored: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    let sql = "select reference_period, release_field, release_field_value \
               from silver.numeric_economic_data where release_code = 'EIA-WPSR'";
    for r in db.query(sql, &[]).await.map_err(q)? {
        let v: Option<f64> = r.get(2);
        stored
            .entry((r.get(0), r.get(1)))
            .or_default()
            .push(v.unwrap_or(f64::NAN));
    }
    let mut sla: BTreeMap<String, Sla> = BTreeMap::new();
    let sql =
        "select period, status, loaded_at from ops.release_sla where pipeline = $1 and source = $2";
    for r in db.query(sql, &[&PIPELINE, &SOURCE]).await.map_err(q)? {
        sla.insert(
            r.get(0),
            Sla {
                status: r.get(1),
                loaded_at: r.get(2),
            },
        );
    }
    let alerted: BTreeSet<String> = publisher
        .alerts()
        .iter()
        .filter_map(|a| a["period"].as_str().map(String::from))
        .collect();
    let lake_names: BTreeSet<String> = files_under(lake)
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(String::from))
        .collect();
    let served = publisher.served();

    let mut v = Verdict::default();
    let mut lags = Vec::new();
    // Whether a release's own record says something went wrong.
    let flagged = |k: usize| {
        let p = releases[k].period.to_string();
        alerted.contains(&p) || sla.get(&p).is_none_or(|s| s.status != "loaded")
    };
    for k in 1..releases.len() {
        let r = &releases[k];
        let period = r.period.to_string();
        let mut wrong = Vec::new();
        for (field, want) in &truth[k] {
            match stored
                .get(&(period.clone(), field.clone()))
                .map(Vec::as_slice)
            {
                Some([got]) if same(*got, *want) => {}
                Some([got]) => wrong.push(format!("{field} = {got}, published {want}")),
                Some(many) => wrong.push(format!("{field} stored {} times", many.len())),
                None => wrong.push(format!("{field} missing")),
            }
        }
        let extra = stored
            .keys()
            .filter(|(p, f)| *p == period && !truth[k].contains_key(f))
            .count();
        if extra > 0 {
            wrong.push(format!("{extra} fields that were never published"));
        }
        let sha = qdp_sdk::raw::sha256_hex(&r.table.body);
        let kept = lake_names.contains(&format!("{sha}.csv"));
        v.in_lake += usize::from(kept);
        let record = sla.get(&period);
        let loaded_at = record.and_then(|s| s.loaded_at);
        let lag = loaded_at.map(|l| (l - r.published).as_seconds_f64());
        lags.push(lag.unwrap_or(f64::INFINITY));
        // The load cannot precede the first whole answer: a guard on the
        // measurement itself.
        let coherent = match (loaded_at, served[k].first_whole) {
            (Some(l), Some(w)) => l >= w,
            _ => false,
        };
        let status = record.map_or("no SLA row", |s| s.status.as_str());
        let on_time = lag.is_some_and(|l| l <= 120.0);
        if wrong.is_empty() && kept && status == "loaded" && on_time && coherent {
            v.loaded_ok += 1;
            continue;
        }
        let said = flagged(k) || (k + 1 < releases.len() && flagged(k + 1));
        if !wrong.is_empty() && !said {
            v.silently_wrong += 1;
        }
        v.problems.push(format!(
            "week {period}: status {status}, lag {}, in lake {kept}, coherent {coherent}, {} wrong{}{}",
            lag.map_or("none".into(), |l| format!("{l:.1} s")),
            wrong.len(),
            if wrong.is_empty() { "" } else { ": " },
            wrong.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
        ));
    }
    lags.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        let i = ((q * lags.len() as f64).ceil() as usize).clamp(1, lags.len().max(1)) - 1;
        lags.get(i).copied().unwrap_or(f64::NAN)
    };
    v.p50_lag_s = pick(0.5);
    v.p99_lag_s = pick(0.99);
    Ok(v)
}
