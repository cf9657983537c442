//! Conformance checks for sink plugins.

use super::{Outcome, Report, check_descriptor, check_options, check_panic};
use crate::capabilities::IDEMPOTENT_WRITE;
use crate::ffi::host::{ForeignInstance, Kind, PluginLibrary};
use crate::{Accepts, Batch, BatchMeta, Context};
use arrow::array::{Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use serde_json::Value;
use std::sync::Arc;

type ReadBack = Box<dyn Fn() -> Result<u64, String>>;

/// Checks for a sink library; build one with [`sink`].
#[must_use = "call .run() to run the checks"]
pub struct SinkKit {
    lib: Arc<PluginLibrary>,
    options: Value,
    bad: Vec<Value>,
    samples: Option<Vec<Batch>>,
    read_back: Option<ReadBack>,
}

/// Starts the checks of the sink in `lib`, built with `options`. The
/// destination the options name should start empty.
pub fn sink(lib: Arc<PluginLibrary>, options: Value) -> SinkKit {
    SinkKit {
        lib,
        options,
        bad: Vec::new(),
        samples: None,
        read_back: None,
    }
}

impl SinkKit {
    /// Options that must be refused as a config error.
    pub fn bad_options(mut self, options: Value) -> Self {
        self.bad.push(options);
        self
    }

    /// Batches to write (default: three small batches of a generic category,
    /// which only a sink accepting any category takes).
    pub fn samples(mut self, batches: Vec<Batch>) -> Self {
        self.samples = Some(batches);
        self
    }

    /// Counts the rows committed at the destination, so the kit can prove
    /// that writes land and that a replay adds nothing.
    pub fn read_back(mut self, count_rows: impl Fn() -> Result<u64, String> + 'static) -> Self {
        self.read_back = Some(Box::new(count_rows));
        self
    }

    /// Runs every check and reports each outcome.
    pub fn run(self) -> Report {
        let mut r = Report::new(&self.lib);
        r.record("descriptor", check_descriptor(&self.lib, Kind::Sink));
        r.record(
            "options",
            check_options(&self.lib, Kind::Sink, &self.options, &self.bad),
        );
        let samples = self.batches();
        r.record("empty_input", self.check_empty());
        match &samples {
            Ok(s) => {
                r.record("schema", self.check_write(s));
                r.record("replay", self.check_replay(s));
            }
            Err(e) => {
                r.record("schema", Err(e.clone()));
                r.record("replay", Err(e.clone()));
            }
        }
        r.record("shutdown", self.check_shutdown());
        r.record("panic", check_panic(&self.lib, Kind::Sink, &self.options));
        r
    }

    fn open(&self) -> Result<ForeignInstance, String> {
        let mut s = self
            .lib
            .instantiate(Kind::Sink, &self.options, &Context::default())
            .map_err(|e| format!("create: {e}"))?;
        s.start(None).map_err(|e| format!("open: {e}"))?;
        Ok(s)
    }

    fn rows(&self) -> Result<Option<u64>, String> {
        self.read_back.as_ref().map(|f| f()).transpose()
    }

    fn batches(&self) -> Result<Vec<Batch>, String> {
        if let Some(s) = &self.samples {
            return Ok(s.clone());
        }
        let mut inst = self
            .lib
            .instantiate(Kind::Sink, &self.options, &Context::default())
            .map_err(|e| format!("create: {e}"))?;
        match inst.accepts().map_err(|e| format!("accepts: {e}"))? {
            Accepts::Any => Ok((0..3)
                .map(|seq| generic_batch(seq, 5 + seq as usize))
                .collect()),
            Accepts::Categories(c) => Err(format!(
                "the sink accepts only {c:?}: give .samples() of one of those categories"
            )),
        }
    }

    fn check_empty(&self) -> Result<Outcome, String> {
        let mut s = self.open()?;
        s.write(&[])
            .map_err(|e| format!("writing no batches: {e}"))?;
        let mut empty = generic_batch(0, 0);
        if let Some(sample) = self.samples.as_ref().and_then(|v| v.first()) {
            empty = Batch {
                data: sample.data.slice(0, 0),
                meta: sample.meta.clone(),
            };
        }
        s.write(&[empty])
            .map_err(|e| format!("writing a batch of 0 rows: {e}"))?;
        s.shutdown().map_err(|e| format!("shutdown: {e}"))?;
        match self.rows()? {
            Some(0) | None => Ok(Outcome::Passed),
            Some(n) => Err(format!("the destination holds {n} rows after empty writes")),
        }
    }

    fn check_write(&self, samples: &[Batch]) -> Result<Outcome, String> {
        let mut s = self.open()?;
        if let Accepts::Categories(cats) = s.accepts().map_err(|e| format!("accepts: {e}"))?
            && let Some(b) = samples.iter().find(|b| !cats.contains(&b.meta.category))
        {
            return Err(format!(
                "sample category `{}` is not in what the sink accepts: {cats:?}",
                b.meta.category
            ));
        }
        s.write(samples).map_err(|e| format!("write: {e}"))?;
        s.shutdown().map_err(|e| format!("shutdown: {e}"))?;
        let want: u64 = samples.iter().map(|b| b.data.num_rows() as u64).sum();
        match self.rows()? {
            None => Ok(Outcome::Passed),
            Some(n) if n == want => Ok(Outcome::Passed),
            Some(n) => Err(format!("wrote {want} rows, the destination holds {n}")),
        }
    }

    fn check_replay(&self, samples: &[Batch]) -> Result<Outcome, String> {
        if self.lib.info().capabilities & IDEMPOTENT_WRITE == 0 {
            return Ok(Outcome::Skipped(
                "the sink does not declare IDEMPOTENT_WRITE".into(),
            ));
        }
        let Some(before) = self.rows()? else {
            return Ok(Outcome::Skipped("no read_back given".into()));
        };
        // The same instance again (a retried write), then a new instance (a restart).
        let mut s = self.open()?;
        s.write(samples).map_err(|e| format!("write: {e}"))?;
        s.write(samples)
            .map_err(|e| format!("repeated write: {e}"))?;
        s.shutdown().map_err(|e| format!("shutdown: {e}"))?;
        let after = self.rows()?.unwrap_or_default();
        if after != before {
            return Err(format!(
                "a replay changed the row count from {before} to {after}"
            ));
        }
        Ok(Outcome::Passed)
    }

    fn check_shutdown(&self) -> Result<Outcome, String> {
        let mut s = self.open()?;
        s.shutdown().map_err(|e| format!("shutdown: {e}"))?;
        drop(s);
        let mut never_opened = self
            .lib
            .instantiate(Kind::Sink, &self.options, &Context::default())
            .map_err(|e| format!("create: {e}"))?;
        never_opened
            .shutdown()
            .map_err(|e| format!("shutdown before open: {e}"))?;
        Ok(Outcome::Passed)
    }
}

/// A small batch of a generic category with a nullable column holding a null.
pub(crate) fn generic_batch(seq: u64, rows: usize) -> Batch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("seq", DataType::UInt64, false),
        Field::new("symbol", DataType::Utf8, false),
        Field::new("price", DataType::Float64, true),
    ]));
    let n: Vec<u64> = (0..rows as u64).map(|i| seq * 1_000 + i).collect();
    let symbols: Vec<String> = n.iter().map(|i| format!("CLF{}", i % 10)).collect();
    let prices: Vec<Option<f64>> = n
        .iter()
        .map(|i| (i % 4 != 3).then_some(70.0 + *i as f64 / 100.0))
        .collect();
    let data = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(UInt64Array::from(n)),
            Arc::new(StringArray::from(symbols)),
            Arc::new(Float64Array::from(prices)),
        ],
    )
    .unwrap_or_else(|e| unreachable!("fixed columns match: {e}"));
    Batch {
        data,
        meta: BatchMeta {
            category: "conformance_sample".into(),
            source_system: "conformance".into(),
            origin: "conformance".into(),
            seq,
            producer: "conformance".into(),
            // The kit's replays are exact, as a deterministic source's are.
            replayable: true,
            ..Default::default()
        },
    }
}
