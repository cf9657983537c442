//! The Postgres target: desired facts minus actual facts is the plan.

mod actual;
mod desired;
mod fact;
pub mod password;
mod pii;
mod rows;
mod sql;

pub use desired::{Catalog, Table};
pub use fact::Fact;
pub use pii::CataloguePii;

use crate::change::{Change, Kind, Statement, ordered};
use crate::error::Error;
use crate::names::{self, literal, quote};
use crate::policy::{Policy, PostgresTarget};
use std::collections::BTreeMap;
use tokio_postgres::{Client, NoTls};

/// Connects to `url` and drives the connection on the current runtime.
pub async fn connect(url: &str) -> Result<Client, Error> {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|e| Error::postgres("connect with postgres.url", e))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "admin connection closed");
        }
    });
    Ok(client)
}

/// Every schema the policy judges: the managed ones and the teams' marts.
pub fn schemas(policy: &Policy, pg: &PostgresTarget) -> Vec<String> {
    let mut s = pg.schemas.clone();
    s.extend(policy.spec.teams.keys().map(|t| names::mart_schema(t)));
    s
}

/// The changes that would make the database match the policy.
pub async fn plan(policy: &Policy, pg: &PostgresTarget, c: &Client) -> Result<Vec<Change>, Error> {
    let schemas = schemas(policy, pg);
    let cat = actual::catalog(c, &schemas).await?;
    let pii = CataloguePii::from_pipelines(&pg.pipeline_files)?;
    let want = desired::desired(policy, pg, &cat, &pii);
    let have = actual::actual(c, &pg.role_prefix, &schemas).await?;
    let have_by_key: BTreeMap<String, &Fact> = have.iter().map(|f| (f.key(), f)).collect();
    let want_by_key: BTreeMap<String, &Fact> = want.iter().map(|f| (f.key(), f)).collect();
    let stmts = |v: Vec<(u8, String)>| v.into_iter().map(|(p, s)| Statement::plain(p, s)).collect();
    let mut out = Vec::new();
    let change = |kind, what, statements| Change {
        target: "postgres",
        kind,
        what,
        statements,
    };
    for (k, w) in &want_by_key {
        match have_by_key.get(k) {
            None => out.push(change(Kind::Missing, w.describe(), stmts(w.add()))),
            Some(h) if h.value() != w.value() => out.push(change(
                Kind::Changed,
                format!("{} (now: {})", w.describe(), h.value()),
                stmts(h.change_to(w)),
            )),
            Some(_) => {}
        }
    }
    for (k, h) in &have_by_key {
        if !want_by_key.contains_key(k) {
            out.push(change(Kind::Extra, h.describe(), stmts(h.remove())));
        }
    }
    out.extend(passwords(policy, pg, c).await?);
    Ok(out)
}

/// A change for each user whose stored password is not the policy's.
async fn passwords(policy: &Policy, pg: &PostgresTarget, c: &Client) -> Result<Vec<Change>, Error> {
    let stored: BTreeMap<String, String> = c
        .query(
            "SELECT rolname::text, coalesce(rolpassword, '') FROM pg_catalog.pg_authid WHERE starts_with(rolname::text, $1::text)",
            &[&pg.role_prefix],
        )
        .await
        .map_err(|e| Error::postgres("read pg_authid (the admin connection must be a superuser)", e))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut out = Vec::new();
    for (user, secret) in &policy.passwords {
        let login = names::user_login(&pg.role_prefix, user);
        if stored
            .get(&login)
            .is_some_and(|v| password::matches(v, secret.expose()))
        {
            continue;
        }
        let sql = format!(
            "ALTER ROLE {} PASSWORD {}",
            quote(&login),
            literal(&password::verifier(secret.expose()))
        );
        let shown = format!(
            "ALTER ROLE {} PASSWORD '<SCRAM-SHA-256 verifier of the password from {}>'",
            quote(&login),
            secret.source
        );
        out.push(Change {
            target: "postgres",
            kind: if stored.contains_key(&login) {
                Kind::Changed
            } else {
                Kind::Missing
            },
            what: format!("password of {login} (from {})", secret.source),
            statements: vec![Statement {
                phase: fact::PHASE_ALTER,
                sql,
                shown,
            }],
        });
    }
    Ok(out)
}

/// Runs the changes' statements in one transaction, in phase order.
pub async fn execute(c: &mut Client, changes: &[Change]) -> Result<(), Error> {
    let tx = c
        .transaction()
        .await
        .map_err(|e| Error::postgres("begin", e))?;
    for s in ordered(changes) {
        tx.batch_execute(&s.sql)
            .await
            .map_err(|e| Error::postgres(&s.shown, e))?;
    }
    tx.commit().await.map_err(|e| Error::postgres("commit", e))
}
