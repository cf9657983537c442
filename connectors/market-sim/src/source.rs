//! The `market_sim` source: paces generated batches on a virtual clock.
//!
//! A batch is generated (and the state advanced) once, kept in `pending`,
//! and handed out when wall-clock time has caught up with the virtual time
//! of its last tick, so a cancelled `next_batch` loses nothing.

use crate::config::SimOptions;
use crate::generator::{Generator, State, raw_schema};
use crate::products::{PRODUCTS, month_code, product};
use qdp_sdk::arrow::array::RecordBatch;
use qdp_sdk::{
    Checkpoint, Context, Describe, OutputDecl, PluginError, Result, Source, SourceBatch,
};
use std::time::Duration;
use tokio::time::Instant;

/// Category of the raw ticks.
pub const CATEGORY: &str = "raw_market_sim_ticks";

/// The simulator.
pub struct MarketSim {
    generator: Generator,
    seed: u64,
    start_ns: Option<i64>,
    paced: bool,
    state: Option<State>,
    /// Wall-clock instant of virtual time zero.
    anchor: Option<Instant>,
    pending: Option<(RecordBatch, Checkpoint, f64)>,
}

impl Describe for MarketSim {
    type Options = SimOptions;
    const NAME: &'static str = "market_sim";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CAPABILITIES: u64 =
        qdp_sdk::capabilities::RESUME | qdp_sdk::capabilities::DETERMINISTIC_REPLAY;
}

fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| PluginError::config(format!("start_time `{s}` is not RFC 3339: {e}")))
}

impl Source for MarketSim {
    fn new(o: SimOptions, _ctx: &Context) -> Result<Self> {
        if o.batch_size == 0 {
            return Err(PluginError::config("batch_size must be at least 1"));
        }
        if !(o.rate >= 0.0 && o.rate.is_finite()) {
            return Err(PluginError::config(
                "rate must be a non-negative number of ticks per second",
            ));
        }
        if !(0.0..=1.0).contains(&o.invalid_ratio) {
            return Err(PluginError::config("invalid_ratio must be between 0 and 1"));
        }
        if let Some(b) = o
            .bursts
            .iter()
            .find(|b| !(b.multiplier > 0.0 && b.duration_s >= 0.0))
        {
            return Err(PluginError::config(format!(
                "bursts: multiplier must be > 0 and duration_s >= 0 (got {b:?})"
            )));
        }
        let products = if o.symbols.is_empty() {
            PRODUCTS.iter().collect()
        } else {
            o.symbols
                .iter()
                .map(|s| {
                    product(s).ok_or_else(|| {
                        PluginError::config(format!(
                            "unknown symbol root `{s}` (known: CL, NG, HO, RB, BZ, ES)"
                        ))
                    })
                })
                .collect::<Result<Vec<_>>>()?
        };
        let start = o.start_time.as_deref().map(parse_time).transpose()?;
        let (year, month) = match &o.contract_month {
            Some(m) => {
                let (y, mo) = m
                    .split_once('-')
                    .ok_or_else(|| PluginError::config("contract_month must be YYYY-MM"))?;
                (
                    y.parse::<i32>()
                        .map_err(|_| PluginError::config("contract_month must be YYYY-MM"))?,
                    mo.parse::<u32>()
                        .map_err(|_| PluginError::config("contract_month must be YYYY-MM"))?,
                )
            }
            None => {
                use chrono::Datelike;
                let t = start.unwrap_or_else(chrono::Utc::now);
                if t.month() == 12 {
                    (t.year() + 1, 1)
                } else {
                    (t.year(), t.month() + 1)
                }
            }
        };
        let suffix = format!("{}{}", month_code(month), year.rem_euclid(10));
        Ok(Self {
            seed: o.seed,
            start_ns: start.and_then(|t| t.timestamp_nanos_opt()),
            paced: o.rate > 0.0,
            generator: Generator::new(o, products, suffix),
            state: None,
            anchor: None,
            pending: None,
        })
    }

    fn outputs(&self) -> Vec<OutputDecl> {
        vec![OutputDecl::main(CATEGORY, raw_schema())]
    }

    async fn start(&mut self, checkpoint: Option<Checkpoint>) -> Result<()> {
        let st = match checkpoint {
            Some(c) => State::decode(c.as_bytes(), self.generator.products.len())?,
            None => {
                let origin = self
                    .start_ns
                    .unwrap_or_else(|| chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0));
                State::new(self.seed, origin, &self.generator.products)
            }
        };
        // Continue at the configured rate from now on.
        self.anchor = Some(Instant::now() - Duration::from_secs_f64(st.clock_s.max(0.0)));
        self.state = Some(st);
        self.pending = None;
        Ok(())
    }

    async fn next_batch(&mut self) -> Result<Option<SourceBatch>> {
        if self.pending.is_none() {
            let st = self
                .state
                .as_mut()
                .ok_or_else(|| PluginError::internal("next_batch before start"))?;
            match self.generator.batch(st)? {
                None => return Ok(None),
                Some(b) => self.pending = Some((b, Checkpoint(st.encode()), st.clock_s)),
            }
        }
        if let (true, Some(anchor), Some((_, _, due))) = (self.paced, self.anchor, &self.pending) {
            tokio::time::sleep_until(anchor + Duration::from_secs_f64(*due)).await;
        }
        let Some((data, checkpoint, _)) = self.pending.take() else {
            return Err(PluginError::internal("no pending batch"));
        };
        Ok(Some(SourceBatch {
            category: CATEGORY.into(),
            source_system: "market_sim".into(),
            data,
            checkpoint,
            positions: Vec::new(),
        }))
    }
}
