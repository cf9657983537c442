//! The `ops` schema in Postgres (or `[pipeline.state] schema`): source checkpoints and marks
//! (`ops.source_checkpoint`, `ops.source_mark`) and release SLA rows
//! (`ops.release_sla`), used when `[pipeline.state] postgres = "..."` is set.
//!
//! Every write is one upsert statement, so a crash leaves the old or the new
//! row, as the file store's rename does. The connection string may hold a
//! password: it is never logged nor put in an error. TLS is not used (the
//! state database is expected on the same host or network).

use super::BoxResult;
use super::sla::{SlaRow, SlaStore};
use crate::runtime::state::StateBackend;
use qdp_sdk::{Checkpoint, PluginError, Result};
use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls};

const DDL: &str = "
begin;
select pg_advisory_xact_lock(7204117);
create schema if not exists {ops};
create table if not exists {ops}.source_checkpoint (
    pipeline text not null,
    source text not null,
    seq bigint not null,
    checkpoint bytea not null,
    updated_at timestamptz not null default now(),
    primary key (pipeline, source)
);
create table if not exists {ops}.source_mark (
    pipeline text not null,
    source text not null,
    name text not null,
    value text not null,
    updated_at timestamptz not null default now(),
    primary key (pipeline, source, name)
);
create table if not exists {ops}.release_sla (
    pipeline text not null,
    source text not null,
    release_calendar text not null,
    period text not null,
    expected_at timestamptz not null,
    first_seen_at timestamptz,
    loaded_at timestamptz,
    rows bigint not null,
    status text not null check (status in ('loaded', 'late', 'missed')),
    polls integer not null,
    primary key (pipeline, source, release_calendar, period)
);
commit;
";

/// One pipeline's connection to the ops schema.
pub struct PgOps {
    url: String,
    pipeline: String,
    /// The quoted schema of the tables (default `ops`).
    schema: String,
    client: Mutex<Option<Client>>,
}

impl std::fmt::Debug for PgOps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOps")
            .field("pipeline", &self.pipeline)
            .finish_non_exhaustive()
    }
}

fn pg_error(what: &str, e: tokio_postgres::Error) -> PluginError {
    PluginError::external(format!("state Postgres: {what}: {e}"))
}

async fn open(url: &str) -> Result<Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|e| pg_error("cannot connect", e))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::warn!(error = %e, "state Postgres connection ended");
        }
    });
    Ok(client)
}

impl PgOps {
    /// Connects to `url` and creates the tables in schema `schema` (a
    /// plain lower-case name, checked by the config) if missing.
    pub async fn connect(url: &str, pipeline: &str, schema: &str) -> Result<Self> {
        let client = open(url).await?;
        let quoted = format!("\"{}\"", schema.replace('"', ""));
        client
            .batch_execute(&DDL.replace("{ops}", &quoted))
            .await
            .map_err(|e| pg_error("cannot create the ops tables", e))?;
        // Another component may own a table of the same name with another
        // layout (the Postgres sink keeps a per-edition release_sla).
        let fits: i64 = client
            .query_one(
                "select count(*) from information_schema.columns
                 where table_schema = $1 and table_name = 'release_sla'
                   and column_name in ('pipeline', 'release_calendar', 'polls')",
                &[&schema],
            )
            .await
            .map_err(|e| pg_error("cannot inspect the ops tables", e))?
            .get(0);
        if fits != 3 {
            return Err(PluginError::config(format!(
                "table {schema}.release_sla exists with another layout (another component's table); \
                 set [pipeline.state] schema = \"qdp_ops\" (or any other schema) for the runtime's tables"
            )));
        }
        Ok(Self {
            url: url.to_string(),
            pipeline: pipeline.to_string(),
            schema: quoted,
            client: Mutex::new(Some(client)),
        })
    }

    /// `sql` with its `{ops}` schema placeholder filled in.
    fn q(&self, sql: &str) -> String {
        sql.replace("{ops}", &self.schema)
    }

    /// Runs `f` on a live connection, reconnecting once if it was lost.
    async fn with_client<T>(
        &self,
        f: impl AsyncFnOnce(&Client) -> std::result::Result<T, tokio_postgres::Error>,
        what: &str,
    ) -> Result<T> {
        let mut guard = self.client.lock().await;
        if guard.as_ref().is_none_or(|c| c.is_closed()) {
            *guard = Some(open(&self.url).await?);
        }
        let Some(client) = guard.as_ref() else {
            return Err(PluginError::internal("no state Postgres connection"));
        };
        let r = f(client).await;
        if r.is_err() && client.is_closed() {
            *guard = None;
        }
        r.map_err(|e| pg_error(what, e))
    }
}

impl StateBackend for PgOps {
    fn load<'a>(&'a self, source: &'a str) -> BoxResult<'a, Option<(u64, Checkpoint)>> {
        Box::pin(async move {
            let row = self
                .with_client(
                    async |c| {
                        c.query_opt(
                            &self.q("select seq, checkpoint from {ops}.source_checkpoint where pipeline = $1 and source = $2"),
                            &[&self.pipeline, &source],
                        )
                        .await
                    },
                    "cannot read a checkpoint",
                )
                .await?;
            Ok(row.map(|r| {
                let seq: i64 = r.get(0);
                let ck: Vec<u8> = r.get(1);
                (seq as u64, Checkpoint(ck))
            }))
        })
    }

    fn save<'a>(
        &'a self,
        source: &'a str,
        seq: u64,
        checkpoint: &'a Checkpoint,
    ) -> BoxResult<'a, ()> {
        Box::pin(async move {
            let seq = seq as i64;
            self.with_client(
                async |c| {
                    c.execute(
                        &self.q("insert into {ops}.source_checkpoint (pipeline, source, seq, checkpoint, updated_at)
                         values ($1, $2, $3, $4, now())
                         on conflict (pipeline, source) do update
                         set seq = excluded.seq, checkpoint = excluded.checkpoint, updated_at = excluded.updated_at"),
                        &[&self.pipeline, &source, &seq, &checkpoint.0],
                    )
                    .await
                },
                "cannot save a checkpoint",
            )
            .await
            .map(|_| ())
        })
    }

    fn load_mark<'a>(&'a self, source: &'a str, name: &'a str) -> BoxResult<'a, Option<String>> {
        Box::pin(async move {
            let row = self
                .with_client(
                    async |c| {
                        c.query_opt(
                            &self.q("select value from {ops}.source_mark where pipeline = $1 and source = $2 and name = $3"),
                            &[&self.pipeline, &source, &name],
                        )
                        .await
                    },
                    "cannot read source state",
                )
                .await?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    fn save_mark<'a>(
        &'a self,
        source: &'a str,
        name: &'a str,
        value: &'a str,
    ) -> BoxResult<'a, ()> {
        Box::pin(async move {
            self.with_client(
                async |c| {
                    c.execute(
                        &self.q("insert into {ops}.source_mark (pipeline, source, name, value, updated_at)
                         values ($1, $2, $3, $4, now())
                         on conflict (pipeline, source, name) do update
                         set value = excluded.value, updated_at = excluded.updated_at"),
                        &[&self.pipeline, &source, &name, &value],
                    )
                    .await
                },
                "cannot save source state",
            )
            .await
            .map(|_| ())
        })
    }
}

impl SlaStore for PgOps {
    fn record<'a>(&'a self, row: &'a SlaRow) -> BoxResult<'a, ()> {
        Box::pin(async move {
            let rows = row.rows as i64;
            let polls = row.polls as i32;
            self.with_client(
                async |c| {
                    c.execute(
                        &self.q("insert into {ops}.release_sla (pipeline, source, release_calendar, period, expected_at,
                             first_seen_at, loaded_at, rows, status, polls)
                         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                         on conflict (pipeline, source, release_calendar, period) do update
                         set expected_at = excluded.expected_at, first_seen_at = excluded.first_seen_at,
                             loaded_at = excluded.loaded_at, rows = excluded.rows,
                             status = excluded.status, polls = excluded.polls"),
                        &[
                            &row.pipeline,
                            &row.source,
                            &row.release_calendar,
                            &row.period,
                            &row.expected_at,
                            &row.first_seen_at,
                            &row.loaded_at,
                            &rows,
                            &row.status,
                            &polls,
                        ],
                    )
                    .await
                },
                "cannot write a release SLA row",
            )
            .await
            .map(|_| ())
        })
    }

    fn find<'a>(
        &'a self,
        pipeline: &'a str,
        source: &'a str,
        calendar: &'a str,
        period: &'a str,
    ) -> BoxResult<'a, Option<SlaRow>> {
        Box::pin(async move {
            let row = self
                .with_client(
                    async |c| {
                        c.query_opt(
                            &self.q("select expected_at, first_seen_at, loaded_at, rows, status, polls
                             from {ops}.release_sla
                             where pipeline = $1 and source = $2 and release_calendar = $3 and period = $4"),
                            &[&pipeline, &source, &calendar, &period],
                        )
                        .await
                    },
                    "cannot read a release SLA row",
                )
                .await?;
            Ok(row.map(|r| SlaRow {
                pipeline: pipeline.to_string(),
                source: source.to_string(),
                release_calendar: calendar.to_string(),
                period: period.to_string(),
                expected_at: r.get(0),
                first_seen_at: r.get(1),
                loaded_at: r.get(2),
                rows: r.get::<_, i64>(3) as u64,
                status: r.get(4),
                polls: r.get::<_, i32>(5) as u32,
            }))
        })
    }
}
