//! Conformance checks for transform plugins.

use super::{Outcome, Report, check_descriptor, check_options, check_panic, schema_difference};
use crate::ffi::host::{ForeignInstance, Kind, PluginLibrary};
use crate::{Batch, BatchMeta, Context, Emit, OutputDecl};
use arrow::array::RecordBatch;
use serde_json::Value;
use std::sync::Arc;

/// Checks for a transform library; build one with [`transform`].
#[must_use = "call .run() to run the checks"]
pub struct TransformKit {
    lib: Arc<PluginLibrary>,
    options: Value,
    bad: Vec<Value>,
    input: OutputDecl,
    samples: Vec<RecordBatch>,
    row_preserving: bool,
}

/// Starts the checks of the transform in `lib`, built with `options`, fed
/// by `input` with the `samples` batches.
pub fn transform(
    lib: Arc<PluginLibrary>,
    options: Value,
    input: OutputDecl,
    samples: Vec<RecordBatch>,
) -> TransformKit {
    TransformKit {
        lib,
        options,
        bad: Vec::new(),
        input,
        samples,
        row_preserving: false,
    }
}

impl TransformKit {
    /// Options that must be refused as a config error.
    pub fn bad_options(mut self, options: Value) -> Self {
        self.bad.push(options);
        self
    }

    /// Every input row comes out on exactly one port (mapping and validating
    /// transforms; not aggregations).
    pub fn row_preserving(mut self) -> Self {
        self.row_preserving = true;
        self
    }

    /// Runs every check and reports each outcome.
    pub fn run(self) -> Report {
        let mut r = Report::new(&self.lib);
        r.record("descriptor", check_descriptor(&self.lib, Kind::Transform));
        r.record(
            "options",
            check_options(&self.lib, Kind::Transform, &self.options, &self.bad),
        );
        r.record("empty_input", self.check_empty());
        let first = self.process_all();
        r.record(
            "schema",
            first
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|(d, out)| self.check_schema(d, out)),
        );
        r.record(
            "replay",
            first
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|(_, out)| self.check_replay(out)),
        );
        r.record("shutdown", self.check_shutdown());
        r.record(
            "panic",
            check_panic(&self.lib, Kind::Transform, &self.options),
        );
        r
    }

    fn instance(&self) -> Result<ForeignInstance, String> {
        self.lib
            .instantiate(Kind::Transform, &self.options, &Context::default())
            .map_err(|e| format!("create: {e}"))
    }

    fn batch(&self, seq: u64, data: RecordBatch) -> Batch {
        Batch {
            data,
            meta: BatchMeta {
                category: self.input.category.clone(),
                source_system: "conformance".into(),
                origin: "conformance".into(),
                seq,
                producer: "conformance".into(),
                ..Default::default()
            },
        }
    }

    fn process_all(&self) -> Result<(Vec<OutputDecl>, Vec<Vec<Emit>>), String> {
        if self.samples.is_empty() {
            return Err("give at least one sample batch".into());
        }
        let mut t = self.instance()?;
        let decl = t
            .outputs(std::slice::from_ref(&self.input))
            .map_err(|e| format!("outputs: {e}"))?;
        let mut out = Vec::new();
        for (seq, data) in self.samples.iter().enumerate() {
            let b = self.batch(seq as u64, data.clone());
            out.push(
                t.process(&b)
                    .map_err(|e| format!("process batch {seq}: {e}"))?,
            );
        }
        t.shutdown().map_err(|e| format!("shutdown: {e}"))?;
        Ok((decl, out))
    }

    fn check_empty(&self) -> Result<Outcome, String> {
        let Some(sample) = self.samples.first() else {
            return Err("give at least one sample batch".into());
        };
        let mut t = self.instance()?;
        let emitted = t
            .process(&self.batch(0, sample.slice(0, 0)))
            .map_err(|e| format!("process of 0 rows: {e}"))?;
        let rows: usize = emitted.iter().map(|e| e.data.num_rows()).sum();
        if rows > 0 {
            return Err(format!("0 rows in, {rows} rows out"));
        }
        Ok(Outcome::Passed)
    }

    fn check_schema(&self, decl: &[OutputDecl], out: &[Vec<Emit>]) -> Result<Outcome, String> {
        for (i, emits) in out.iter().enumerate() {
            for e in emits {
                let Some(d) = decl.iter().find(|d| d.port == e.port) else {
                    return Err(format!(
                        "batch {i}: emitted on undeclared port {:?}",
                        e.port
                    ));
                };
                if d.category != e.category {
                    return Err(format!(
                        "batch {i}: port {:?} declares `{}`, emitted `{}`",
                        e.port, d.category, e.category
                    ));
                }
                if let Some(s) = &d.schema
                    && let Some(diff) = schema_difference(s, &e.data.schema())
                {
                    return Err(format!("batch {i} on port {:?}: {diff}", e.port));
                }
            }
            let rows_out: usize = emits.iter().map(|e| e.data.num_rows()).sum();
            if self.row_preserving && rows_out != self.samples[i].num_rows() {
                return Err(format!(
                    "batch {i}: {} rows in, {rows_out} rows out on all ports",
                    self.samples[i].num_rows()
                ));
            }
        }
        Ok(Outcome::Passed)
    }

    fn check_replay(&self, first: &[Vec<Emit>]) -> Result<Outcome, String> {
        let (_, again) = self.process_all()?;
        for (i, (a, b)) in first.iter().zip(&again).enumerate() {
            let same = a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| x.port == y.port && x.data == y.data);
            if !same {
                return Err(format!("batch {i} gave different output on a replay"));
            }
        }
        Ok(Outcome::Passed)
    }

    fn check_shutdown(&self) -> Result<Outcome, String> {
        let mut t = self.instance()?;
        t.shutdown().map_err(|e| format!("shutdown: {e}"))?;
        Ok(Outcome::Passed)
    }
}
