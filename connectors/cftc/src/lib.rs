//! `cftc`: a source plugin for the CFTC's Commitments of Traders reports,
//! families `disaggregated`, `legacy` and `tff` (futures only), from the
//! yearly zipped `.txt` files and from the Socrata API.
//!
//! Ports (ADR 0002): `raw_object` (each zip, file or Socrata page exactly as
//! received), `numeric_economic_data` (one row per contract, report date
//! and measure: `release_field = <contract code>.<canonical field>`),
//! `economic_data_releases` (one row per family and report date) and
//! `unqualified` (`cftc_cot_unqualified`: rows and values that could not be
//! loaded, as text, with the reason). The runtime runs it in passes; the
//! watermark lives in the checkpoint ([`checkpoint`]), so an unchanged
//! file emits nothing and a grown one only its new report dates.

#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod config;
pub mod dictionary;
pub mod family;
mod fetch;
pub mod fields;
pub mod pass;
pub mod record;
pub mod socrata;
pub mod tables;
pub mod text;

pub use pass::current_year;

use checkpoint::State;
use config::Options;
use qdp_sdk::capabilities::{FINITE, RESUME};
use qdp_sdk::raw::{RAW_OBJECT, raw_object_schema};
use qdp_sdk::{
    Checkpoint, Context, Describe, OutputDecl, PluginError, Result, Source, SourceBatch,
};
use std::collections::VecDeque;

/// `source_system_name` of rows read from the yearly files.
pub const FILES_SYSTEM: &str = "cftc_cot_files";
/// `source_system_name` of rows read from Socrata.
pub const SOCRATA_SYSTEM: &str = "cftc_socrata";

/// The `cftc` source.
pub struct Cftc {
    pass: pass::Pass,
    jobs: VecDeque<pass::Job>,
    ready: VecDeque<SourceBatch>,
}

impl Describe for Cftc {
    type Options = Options;
    const NAME: &'static str = "cftc";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CAPABILITIES: u64 = FINITE | RESUME;

    fn dictionary() -> Vec<qdp_sdk::dictionary::FieldSource> {
        dictionary::dictionary()
    }
}

impl Source for Cftc {
    fn new(o: Options, ctx: &Context) -> Result<Self> {
        config::check(&o)?;
        let timeout =
            qdp_sdk::options::duration(&o.timeout, "timeout").map_err(PluginError::config)?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("qdp-cftc/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PluginError::config(format!("HTTP client: {e}")))?;
        if o.files.is_empty() && o.socrata.is_none() {
            tracing::warn!("cftc source has neither `files` nor `socrata`: it has nothing to read");
        }
        Ok(Self {
            pass: pass::Pass::new(o, ctx.component_id.clone(), client),
            jobs: VecDeque::new(),
            ready: VecDeque::new(),
        })
    }

    /// `ID.raw_object`, `ID.numeric_economic_data`,
    /// `ID.economic_data_releases` and `ID.unqualified`.
    fn outputs(&self) -> Vec<OutputDecl> {
        let decl = |port: &str, category: &str, schema| OutputDecl {
            port: Some(port.to_string()),
            category: category.to_string(),
            schema: Some(schema),
        };
        let mut out = vec![decl(RAW_OBJECT, RAW_OBJECT, raw_object_schema())];
        for c in [tables::NUMERIC, tables::RELEASES] {
            if let Ok(s) = tables::category_schema(c) {
                out.push(decl(c, c, s));
            }
        }
        out.push(decl(
            "unqualified",
            tables::UNQUALIFIED,
            tables::unqualified_schema(),
        ));
        out
    }

    async fn start(&mut self, checkpoint: Option<Checkpoint>) -> Result<()> {
        self.pass.state = State::from_checkpoint(checkpoint.as_ref())?;
        self.jobs = self.pass.jobs()?;
        self.ready.clear();
        Ok(())
    }

    /// Cancel-safe: a job leaves the queue only once its batches are ready.
    async fn next_batch(&mut self) -> Result<Option<SourceBatch>> {
        loop {
            if let Some(b) = self.ready.pop_front() {
                return Ok(Some(b));
            }
            let Some(job) = self.jobs.front().cloned() else {
                return Ok(None);
            };
            let batches = self.pass.run(&job).await?;
            self.jobs.pop_front();
            self.ready.extend(batches);
        }
    }
}

qdp_sdk::export_source!(Cftc);
