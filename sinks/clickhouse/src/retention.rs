//! Retention by dropping whole day partitions.
//!
//! TTL is not used: its behaviour and syntax changed across versions (and
//! it deletes at merge time, not when asked). `ALTER TABLE ... DROP
//! PARTITION` works the same from 18.16 on and frees the space at once.

use crate::conn::Conn;
use crate::ddl::{Flavor, INGESTED, literal, qualified};
use crate::handoff::{self, Verdict};
use chrono::{Days, NaiveDate};
use qdp_sdk::Result;

/// `(table, partition)` pairs whose day is strictly older than `today`
/// minus `days`. Partitions that are not a day (`tuple()` of reference
/// data) are never returned, nor is today's or any later day.
pub fn expired(parts: &[(String, String)], today: NaiveDate, days: u32) -> Vec<(String, String)> {
    let Some(cutoff) = today.checked_sub_days(Days::new(u64::from(days))) else {
        return Vec::new();
    };
    parts
        .iter()
        .filter(|(_, p)| day(p).is_some_and(|d| d < cutoff))
        .cloned()
        .collect()
}

/// The day a partition value names, e.g. `2026-11-20` (or `'2026-11-20'`).
fn day(partition: &str) -> Option<NaiveDate> {
    let p = partition.trim().trim_matches('\'');
    NaiveDate::parse_from_str(p, "%Y-%m-%d").ok()
}

/// Drops expired day partitions of the sink's tables in `db` (the tables
/// holding `ingestion_time_realtime_store`, which only this sink writes)
/// and returns what was dropped. With `history`, a partition goes only when
/// the Iceberg table holds its rows ([`handoff`]).
pub async fn run(
    conn: &Conn,
    db: &str,
    days: u32,
    flavor: Flavor,
    history: Option<&qdp_iceberg::IcebergOptions>,
) -> Result<Vec<(String, String)>> {
    let today = chrono::Utc::now().date_naive();
    let sql = format!(
        "SELECT table, partition FROM system.parts WHERE database = {db} AND active \
         AND table IN (SELECT table FROM system.columns WHERE database = {db} AND name = {col}) \
         GROUP BY table, partition ORDER BY table, partition",
        db = literal(db),
        col = literal(INGESTED)
    );
    let parts: Vec<(String, String)> = conn
        .rows(&sql)
        .await?
        .into_iter()
        .filter_map(|r| match r.as_slice() {
            [t, p] => Some((t.clone(), p.clone())),
            _ => None,
        })
        .collect();
    let mut dropped = Vec::new();
    let mut history = history.map(handoff::History::new);
    for (table, partition) in expired(&parts, today, days) {
        let value = partition.trim().trim_matches('\'').to_string();
        if let (Some(h), Some(d)) = (history.as_mut(), day(&value)) {
            match handoff::check(conn, db, &table, d, flavor, h).await? {
                Verdict::Kept {
                    clickhouse,
                    iceberg,
                } => tracing::debug!(
                    table = table.as_str(),
                    day = value.as_str(),
                    clickhouse,
                    iceberg,
                    "the day is in the Iceberg history"
                ),
                Verdict::Missing {
                    clickhouse,
                    iceberg,
                } => {
                    tracing::error!(
                        alarm = "retention_held",
                        table = table.as_str(),
                        day = value.as_str(),
                        clickhouse_rows = clickhouse,
                        iceberg_rows = iceberg,
                        "retention held back: the Iceberg history has fewer rows for this day than ClickHouse; nothing dropped"
                    );
                    continue;
                }
                Verdict::NotComparable => {}
            }
        }
        conn.execute(
            &format!(
                "ALTER TABLE {} DROP PARTITION {}",
                qualified(db, &table),
                literal(&value)
            ),
            Some(&table),
        )
        .await?;
        tracing::info!(
            database = db,
            table = table.as_str(),
            partition = value.as_str(),
            retention_days = days,
            "retention dropped a day partition"
        );
        dropped.push((table, partition));
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_days_strictly_older_than_the_cutoff_go() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default();
        let p = |t: &str, d: &str| (t.to_string(), d.to_string());
        let parts = vec![
            p("t", "2026-11-25"),
            p("t", "2026-11-23"), // N-1 days ago with N = 3
            p("t", "2026-11-22"), // exactly N days ago: kept
            p("t", "2026-11-21"), // N+1
            p("t", "'2026-11-17'"),
            p("ref", "tuple()"),
            p("t", "2026-11-26"),
        ];
        assert_eq!(
            expired(&parts, today, 3),
            vec![p("t", "2026-11-21"), p("t", "'2026-11-17'")]
        );
    }
}
