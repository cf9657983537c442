//! Access as code: an `access.toml` policy planned, applied and checked for drift.
//!
//! A policy declares teams (each with a `mart_<team>` schema), roles (what
//! people may read, PII or not, every row or their team's), pipelines
//! (least-privilege writers), users (people and service accounts, with
//! passwords from env or files) and row filters. [`plan`] compares it with
//! what Postgres and ClickHouse hold now; [`apply`] runs the difference and
//! repeats until nothing is left; [`diff`] reports drift (including users
//! that cannot log in to ClickHouse).
//!
//! Postgres: roles carry the policy's prefix and only those, plus every
//! grant on the managed schemas, are judged. ClickHouse (18.16, no SQL
//! users): the policy owns `users.d/qdp-access.xml`.

pub mod change;
pub mod clickhouse;
mod error;
pub mod names;
pub mod policy;
pub mod postgres;

pub use change::{Change, Kind, Statement};
pub use error::Error;
pub use policy::Policy;

/// The differences found on both targets.
#[derive(Debug, Default)]
pub struct Report {
    /// Changes for Postgres.
    pub postgres: Vec<Change>,
    /// Changes for ClickHouse.
    pub clickhouse: Vec<Change>,
}

impl Report {
    /// Whether both targets match the policy.
    pub fn is_empty(&self) -> bool {
        self.postgres.is_empty() && self.clickhouse.is_empty()
    }

    /// Every change, Postgres first.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.postgres.iter().chain(&self.clickhouse)
    }
}

/// What `apply` would change.
pub async fn plan(policy: &Policy) -> Result<Report, Error> {
    let mut r = Report::default();
    if let Some(pg) = &policy.spec.postgres {
        let c = postgres::connect(&pg.url).await?;
        r.postgres = postgres::plan(policy, pg, &c).await?;
    }
    if let Some(ch) = &policy.spec.clickhouse {
        r.clickhouse = clickhouse::plan(policy, ch)?;
    }
    Ok(r)
}

/// Drift: what `plan` finds, plus ClickHouse users that cannot log in.
pub async fn diff(policy: &Policy) -> Result<Report, Error> {
    let mut r = plan(policy).await?;
    if let Some(ch) = &policy.spec.clickhouse
        && r.clickhouse.is_empty()
    {
        r.clickhouse = clickhouse::login_drift(policy, ch).await;
    }
    Ok(r)
}

/// Applies the policy and returns what was changed (empty: nothing to do).
/// Postgres is planned again after each round, because one change can undo
/// another (revoking a table privilege also revokes its column privileges).
pub async fn apply(policy: &Policy) -> Result<Report, Error> {
    let mut done = Report::default();
    if let Some(pg) = &policy.spec.postgres {
        let mut c = postgres::connect(&pg.url).await?;
        for _round in 0..4 {
            let changes = postgres::plan(policy, pg, &c).await?;
            if changes.is_empty() {
                break;
            }
            postgres::execute(&mut c, &changes).await?;
            done.postgres.extend(changes);
        }
        let left = postgres::plan(policy, pg, &c).await?;
        if !left.is_empty() {
            let lines: Vec<String> = left.iter().map(|c| format!("  {c}")).collect();
            return Err(Error::NotConverged(lines.join("\n")));
        }
    }
    if let Some(ch) = &policy.spec.clickhouse {
        let changes = clickhouse::plan(policy, ch)?;
        clickhouse::apply(policy, ch, &changes).await?;
        done.clickhouse = changes;
    }
    Ok(done)
}
