//! The `postgres` sink: connects and migrates at open, then writes every
//! call's batches in one transaction: category rows upserted into silver,
//! rejects and internal datasets appended, raw objects deduplicated by
//! content, and the gold SQL re-run when silver changed.

use crate::config::{self, Checked, PostgresOptions};
use crate::pgerror::convert;
use crate::quality::{self, Loader};
use crate::silver::{self, UpsertCounts};
use crate::textual::{self, AppendCounts};
use crate::{gold, ident, migrate, rawobj};
use qdp_sdk::schema::CategorySchema;
use qdp_sdk::{Batch, Context, Describe, PluginError, Result, Sink};
use std::collections::BTreeMap;
use tokio_postgres::{Client, NoTls, Transaction};

/// The sink.
pub struct PostgresSink {
    c: Checked,
    client: Option<Client>,
    migrated: bool,
    stages: u64,
    who: Loader,
}

/// What one `write` did, per table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteReport {
    /// Category tables (`silver.<category>`).
    pub upserts: BTreeMap<String, UpsertCounts>,
    /// Append-only tables (`bronze.*`, `silver.*_unqualified`).
    pub appends: BTreeMap<String, AppendCounts>,
    /// Gold SQL files run.
    pub gold_files: usize,
}

impl WriteReport {
    /// Whether any category row was inserted or updated.
    pub fn silver_changed(&self) -> bool {
        self.upserts.values().any(|u| u.changed() > 0)
    }
}

/// Where a category's rows go.
enum Route {
    Raw,
    Category(&'static CategorySchema),
    Unqualified(String),
    Bronze(String),
}

fn route(category: &str) -> Result<Route> {
    if category == qdp_sdk::raw::RAW_OBJECT {
        return Ok(Route::Raw);
    }
    if let Some(s) = qdp_sdk::schema::registry().get(category) {
        return Ok(Route::Category(s));
    }
    let plain = |name: &str| {
        if ident::is_plain(name) {
            Ok(name.to_string())
        } else {
            Err(PluginError::config(format!(
                "category `{category}`: table name `{name}` must be lower-case letters, digits and `_` (at most 63)"
            )))
        }
    };
    if category.ends_with("_unqualified") {
        return Ok(Route::Unqualified(plain(category)?));
    }
    if let Some(dataset) = category.strip_prefix("bronze_") {
        if dataset == "raw_object" {
            return Err(PluginError::config(
                "dataset name `raw_object` is taken by raw objects",
            ));
        }
        return Ok(Route::Bronze(plain(dataset)?));
    }
    Err(PluginError::config(format!(
        "the postgres sink has no table for category `{category}`: it takes the category schemas ({}), \
         `raw_object`, `<category>_unqualified` and `bronze_<dataset>`",
        qdp_sdk::schema::registry().names().join(", ")
    )))
}

impl Describe for PostgresSink {
    type Options = PostgresOptions;
    const NAME: &'static str = "postgres";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CAPABILITIES: u64 = qdp_sdk::capabilities::IDEMPOTENT_WRITE;
}

impl PostgresSink {
    /// Builds the sink from checked options (no network).
    pub fn from_options(o: PostgresOptions) -> Result<Self> {
        Ok(Self {
            c: config::check(o)?,
            client: None,
            migrated: false,
            stages: 0,
            who: Loader::default(),
        })
    }

    /// [`Self::from_options`], naming the pipeline and component in
    /// `ops.load_quality` and alerts.
    pub fn with_context(o: PostgresOptions, ctx: &Context) -> Result<Self> {
        let mut s = Self::from_options(o)?;
        s.who = Loader {
            pipeline: ctx.pipeline.clone(),
            component: ctx.component_id.clone(),
        };
        Ok(s)
    }

    /// The URL as shown in logs (password as `***`).
    pub fn shown_url(&self) -> &str {
        &self.c.shown_url
    }

    async fn connect(&mut self) -> Result<()> {
        let what = format!("connect to Postgres at {}", self.c.endpoint);
        let (mut client, connection) = self
            .c
            .pg
            .connect(NoTls)
            .await
            .map_err(|e| convert(&self.c, &e, &what))?;
        let c = self.c.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(postgres = %c.shown_url, error = %c.redact(&e.to_string()), "connection ended");
            }
        });
        let version: i32 = client
            .query_one("select current_setting('server_version_num')::int", &[])
            .await
            .map_err(|e| convert(&self.c, &e, "read server version"))?
            .get(0);
        if version < 150_000 {
            return Err(PluginError::config(format!(
                "Postgres {version} is too old: the sink needs 15 or later (unique keys with NULLS NOT DISTINCT)"
            ))
            .with_context("postgres", &self.c.shown_url));
        }
        if !self.migrated {
            let applied = migrate::apply(&mut client, &self.c.schemas)
                .await
                .map_err(|e| convert(&self.c, &e, "apply migrations"))??;
            tracing::info!(postgres = %self.c.shown_url, applied = ?applied.applied, present = applied.present, "migrations");
            self.migrated = true;
        }
        self.client = Some(client);
        Ok(())
    }

    async fn client(&mut self) -> Result<&mut Client> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            self.connect().await?;
        }
        self.client
            .as_mut()
            .ok_or_else(|| PluginError::internal("no connection after connect"))
    }

    /// Writes `batches` in one transaction and says what changed.
    pub async fn write_report(&mut self, batches: &[Batch]) -> Result<WriteReport> {
        let r = self.write_inner(batches).await;
        match &r {
            Ok(report) => tracing::info!(
                upserts = ?report.upserts,
                appends = ?report.appends,
                gold_files = report.gold_files,
                "postgres write committed"
            ),
            // A broken connection is replaced on the next call.
            Err(e) if e.retryable => self.client = None,
            Err(_) => {}
        }
        r
    }

    async fn write_inner(&mut self, batches: &[Batch]) -> Result<WriteReport> {
        let mut groups: Vec<(String, Vec<&Batch>)> = Vec::new();
        for b in batches {
            match groups.iter_mut().find(|(c, _)| *c == b.meta.category) {
                Some((_, v)) => v.push(b),
                None => groups.push((b.meta.category.clone(), vec![b])),
            }
        }
        let routes: Vec<Route> = groups
            .iter()
            .map(|(c, _)| route(c))
            .collect::<Result<_>>()?;
        if batches.iter().all(|b| b.data.num_rows() == 0) {
            return Ok(WriteReport::default());
        }
        let first_stage = self.stages;
        self.stages += batches.len() as u64 + 1;
        let c = self.c.clone();
        let who = self.who.clone();
        let key = quality::load_key(batches)?;
        let mut judged = quality::judge_inputs(batches, &c.quality);
        let client = self.client().await?;
        if quality::tripped(&judged, &[]) {
            return Err(quality::trip(client, &c, &key, &who, &judged, &[]).await?);
        }
        let tx = client
            .transaction()
            .await
            .map_err(|e| convert(&c, &e, "begin"))?;
        let report = write_all(&tx, &c, &groups, &routes, first_stage).await?;
        let gold = if report.gold_files > 0 {
            quality::judge_gold(&tx, &c).await?
        } else {
            Vec::new()
        };
        if quality::tripped(&[], &gold) {
            tx.rollback()
                .await
                .map_err(|e| convert(&c, &e, "roll back the load"))?;
            return Err(quality::trip(client, &c, &key, &who, &judged, &gold).await?);
        }
        quality::count_out(&mut judged, &report, &c);
        quality::record::published(&tx, &c, &key, &who, &judged, &gold).await?;
        tx.commit().await.map_err(|e| convert(&c, &e, "commit"))?;
        Ok(report)
    }
}

async fn write_all(
    tx: &Transaction<'_>,
    c: &Checked,
    groups: &[(String, Vec<&Batch>)],
    routes: &[Route],
    first_stage: u64,
) -> Result<WriteReport> {
    let mut report = WriteReport::default();
    let mut stage_no = first_stage;
    let mut next_stage = || {
        stage_no += 1;
        format!("qdp_stage_{stage_no}")
    };
    for ((category, bs), r) in groups.iter().zip(routes) {
        match r {
            Route::Category(schema) => {
                let counts = silver::upsert(tx, c, schema, bs, &next_stage()).await?;
                report
                    .upserts
                    .entry(format!("{}.{category}", c.schemas.silver))
                    .or_default()
                    .add(counts);
            }
            Route::Raw => {
                for b in bs {
                    let n = rawobj::append(tx, c, b, &next_stage()).await?;
                    report
                        .appends
                        .entry(format!("{}.raw_object", c.schemas.bronze))
                        .or_default()
                        .add(n);
                }
            }
            Route::Unqualified(table) => {
                let layout = textual::unqualified(c, table);
                for b in bs {
                    let extra = textual::unqualified_extra(c, b);
                    let n = textual::append(tx, c, &layout, b, extra, &next_stage()).await?;
                    report
                        .appends
                        .entry(format!("{}.{table}", c.schemas.silver))
                        .or_default()
                        .add(n);
                }
            }
            Route::Bronze(dataset) => {
                let layout = textual::bronze(c, dataset);
                for b in bs {
                    let extra = textual::bronze_extra(c, b);
                    let n = textual::append(tx, c, &layout, b, extra, &next_stage()).await?;
                    report
                        .appends
                        .entry(format!("{}.{dataset}", c.schemas.bronze))
                        .or_default()
                        .add(n);
                }
            }
        }
    }
    if report.silver_changed() {
        report.gold_files = gold::run(tx, c).await?;
    }
    Ok(report)
}

impl Sink for PostgresSink {
    fn new(options: Self::Options, ctx: &Context) -> Result<Self> {
        Self::with_context(options, ctx)
    }

    async fn open(&mut self) -> Result<()> {
        if let Some(dir) = &self.c.gold_sql_dir {
            gold::files(dir)?;
        }
        let c = self.c.clone();
        let client = self.client().await?;
        if c.gold_sql_dir.is_some() {
            let tx = client
                .transaction()
                .await
                .map_err(|e| convert(&c, &e, "begin"))?;
            let n = gold::run(&tx, &c).await?;
            // A gold gate naming a missing view or column fails here, before any load.
            quality::gold::measure(&tx, &c, &c.quality.gold).await?;
            tx.commit()
                .await
                .map_err(|e| convert(&c, &e, "commit gold"))?;
            tracing::info!(files = n, "gold SQL applied at open");
        }
        Ok(())
    }

    async fn write(&mut self, batches: &[Batch]) -> Result<()> {
        self.write_report(batches).await.map(drop)
    }

    async fn shutdown(&mut self) -> Result<()> {
        self.client = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_route_to_their_tables() {
        assert!(matches!(route("raw_object"), Ok(Route::Raw)));
        assert!(matches!(
            route("numeric_economic_data"),
            Ok(Route::Category(_))
        ));
        assert!(
            matches!(route("numeric_economic_data_unqualified"), Ok(Route::Unqualified(t)) if t == "numeric_economic_data_unqualified")
        );
        assert!(matches!(route("bronze_positions"), Ok(Route::Bronze(d)) if d == "positions"));
        assert!(route("bronze_Bad-Name").is_err());
        assert!(route("bronze_raw_object").is_err());
        let e = route("conformance_sample")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("no table for category"), "{e}");
    }
}
