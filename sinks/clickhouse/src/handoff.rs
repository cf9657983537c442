//! The hand-off from the realtime store to the history: with `history`
//! set, retention drops a day partition only when the Iceberg table holds
//! at least as many rows for that day as ClickHouse does. Otherwise the
//! partition stays and an alarm (an error-level event) says which table,
//! which day and both counts.

use crate::conn::Conn;
use crate::ddl::{Flavor, day_of, literal, qualified};
use chrono::NaiveDate;
use qdp_iceberg::IcebergOptions;
use qdp_iceberg::inspect::{self, CatalogRef};
use qdp_sdk::schema::registry;
use qdp_sdk::{PluginError, Result};

/// What the check found for one day partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Iceberg holds the day: the partition may go.
    Kept { clickhouse: u64, iceberg: u64 },
    /// Iceberg holds fewer rows (or no table): the partition stays.
    Missing { clickhouse: u64, iceberg: u64 },
    /// The table's category has no designated timestamp: nothing to compare.
    NotComparable,
}

/// The Iceberg history retention checks against: its options and, once
/// the first expired day needs it, one open catalog for the whole run.
pub struct History<'a> {
    options: &'a IcebergOptions,
    catalog: Option<CatalogRef>,
}

impl<'a> History<'a> {
    pub fn new(options: &'a IcebergOptions) -> Self {
        Self {
            options,
            catalog: None,
        }
    }

    async fn catalog(&mut self) -> Result<CatalogRef> {
        if let Some(c) = &self.catalog {
            return Ok(c.clone());
        }
        let c = inspect::open(self.options, None)
            .await
            .map_err(|e| e.with_context("history", "catalog"))?;
        self.catalog = Some(c.clone());
        Ok(c)
    }
}

/// Compares ClickHouse's and Iceberg's rows of `table` on `day`. The
/// ClickHouse table is named after its category, as the iceberg table is.
pub async fn check(
    conn: &Conn,
    db: &str,
    table: &str,
    day: NaiveDate,
    flavor: Flavor,
    history: &mut History<'_>,
) -> Result<Verdict> {
    let Some(ts) = registry().get(table).and_then(|s| s.timestamp.clone()) else {
        return Ok(Verdict::NotComparable);
    };
    // FINAL: replayed inserts not merged yet are counted once.
    let sql = format!(
        "SELECT count() FROM {} FINAL WHERE {} = toDate({})",
        qualified(db, table),
        day_of(&ts, flavor),
        literal(&day.to_string())
    );
    let clickhouse = conn
        .rows(&sql)
        .await?
        .first()
        .and_then(|r| r.first())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| PluginError::external(format!("no count from `{sql}`")))?;
    let catalog = history.catalog().await?;
    let o = history.options;
    let iceberg = match inspect::load(catalog.as_ref(), &o.namespace, &o.table_for(table)).await? {
        Some(t) => inspect::rows_on_day(&t, day).await?.unwrap_or(0),
        None => 0,
    };
    Ok(if iceberg >= clickhouse {
        Verdict::Kept {
            clickhouse,
            iceberg,
        }
    } else {
        Verdict::Missing {
            clickhouse,
            iceberg,
        }
    })
}
