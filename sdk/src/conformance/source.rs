//! Conformance checks for source plugins.

use super::{Outcome, Report, check_descriptor, check_options, check_panic, schema_difference};
use crate::capabilities::{DETERMINISTIC_REPLAY, RESUME};
use crate::ffi::host::{ForeignInstance, Kind, PluginLibrary, Polled};
use crate::{Checkpoint, Context, OutputDecl, SourceBatch};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Checks for a source library; build one with [`source`].
#[must_use = "call .run() to run the checks"]
pub struct SourceKit {
    lib: Arc<PluginLibrary>,
    options: Value,
    bad: Vec<Value>,
    empty: Option<Value>,
    max_batches: usize,
    patience: Duration,
}

/// Starts the checks of the source in `lib`, built with `options`.
///
/// `options` should make the source emit at least four batches quickly and,
/// for a finite source, end soon after.
pub fn source(lib: Arc<PluginLibrary>, options: Value) -> SourceKit {
    SourceKit {
        lib,
        options,
        bad: Vec::new(),
        empty: None,
        max_batches: 20,
        patience: Duration::from_secs(30),
    }
}

impl SourceKit {
    /// Options that must be refused as a config error.
    pub fn bad_options(mut self, options: Value) -> Self {
        self.bad.push(options);
        self
    }

    /// Options under which the source has nothing to emit (the `empty_input` check).
    pub fn empty_options(mut self, options: Value) -> Self {
        self.empty = Some(options);
        self
    }

    /// How many batches to read at most from an endless source (default 20).
    pub fn max_batches(mut self, n: usize) -> Self {
        self.max_batches = n.max(4);
        self
    }

    /// How long to wait for batches before a check fails (default 30 s).
    pub fn patience(mut self, d: Duration) -> Self {
        self.patience = d;
        self
    }

    /// Runs every check and reports each outcome.
    pub fn run(self) -> Report {
        let mut r = Report::new(&self.lib);
        r.record("descriptor", check_descriptor(&self.lib, Kind::Source));
        r.record(
            "options",
            check_options(&self.lib, Kind::Source, &self.options, &self.bad),
        );
        r.record("empty_input", self.check_empty());
        let first = self.read(None);
        r.record(
            "schema",
            first
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|(decl, batches)| check_schema(decl, batches)),
        );
        let caps = self.lib.info().capabilities;
        match &first {
            Ok((_, batches)) => {
                r.record("resume", self.check_resume(batches, caps));
                r.record("replay", self.check_replay(batches, caps));
            }
            Err(e) => {
                r.record("resume", Err(format!("no batches to resume from: {e}")));
                r.record("replay", Err(format!("no batches to replay: {e}")));
            }
        }
        r.record("shutdown", self.check_shutdown());
        r.record("panic", check_panic(&self.lib, Kind::Source, &self.options));
        r
    }

    fn instance(&self, options: &Value) -> Result<ForeignInstance, String> {
        self.lib
            .instantiate(Kind::Source, options, &Context::default())
            .map_err(|e| format!("create: {e}"))
    }

    /// Starts an instance and reads until it ends or `max_batches` arrived.
    fn drain(
        &self,
        options: &Value,
        from: Option<&Checkpoint>,
    ) -> Result<(Vec<OutputDecl>, Vec<SourceBatch>), String> {
        let mut inst = self.instance(options)?;
        let decl = inst.outputs(&[]).map_err(|e| format!("outputs: {e}"))?;
        inst.start(from).map_err(|e| format!("start: {e}"))?;
        let deadline = Instant::now() + self.patience;
        let mut out = Vec::new();
        while out.len() < self.max_batches && Instant::now() < deadline {
            match inst
                .poll(Duration::from_millis(200))
                .map_err(|e| format!("poll: {e}"))?
            {
                Polled::Batch(b) => out.push(b),
                Polled::Pending => {}
                Polled::End => break,
            }
        }
        inst.shutdown().map_err(|e| format!("shutdown: {e}"))?;
        Ok((decl, out))
    }

    fn read(
        &self,
        from: Option<&Checkpoint>,
    ) -> Result<(Vec<OutputDecl>, Vec<SourceBatch>), String> {
        let (decl, batches) = self.drain(&self.options, from)?;
        if from.is_none() && batches.len() < 4 {
            return Err(format!(
                "the test options gave {} batch(es) in {:?}; give options that produce at least 4",
                batches.len(),
                self.patience
            ));
        }
        Ok((decl, batches))
    }

    fn check_empty(&self) -> Result<Outcome, String> {
        let Some(opts) = &self.empty else {
            return Ok(Outcome::Skipped("no empty_options given".into()));
        };
        let mut inst = self.instance(opts)?;
        inst.start(None).map_err(|e| format!("start: {e}"))?;
        for _ in 0..5 {
            match inst
                .poll(Duration::from_millis(100))
                .map_err(|e| format!("poll: {e}"))?
            {
                Polled::Batch(b) if b.data.num_rows() > 0 => {
                    return Err(format!(
                        "emitted {} rows with nothing to emit",
                        b.data.num_rows()
                    ));
                }
                Polled::End => break,
                _ => {}
            }
        }
        inst.shutdown().map_err(|e| format!("shutdown: {e}"))?;
        Ok(Outcome::Passed)
    }

    fn check_resume(&self, first: &[SourceBatch], caps: u64) -> Result<Outcome, String> {
        if caps & RESUME == 0 {
            return Ok(Outcome::Skipped(
                "the source does not declare RESUME".into(),
            ));
        }
        let mid = first.len() / 2;
        let (_, resumed) = self.drain(&self.options, Some(&first[mid].checkpoint))?;
        for b in &resumed {
            if let Some(i) = first[..=mid].iter().position(|f| f.data == b.data) {
                return Err(format!(
                    "started after batch {mid}, it emitted batch {i} again"
                ));
            }
        }
        let mut inst = self.instance(&self.options)?;
        match inst.start(Some(&Checkpoint(b"\xffnot a checkpoint".to_vec()))) {
            Ok(()) => Err("a garbage checkpoint was accepted; it must be a config error".into()),
            Err(e) if e.domain == crate::ErrorDomain::Config => Ok(Outcome::Passed),
            Err(e) => Err(format!(
                "a garbage checkpoint gave {:?}, not a config error: {e}",
                e.domain
            )),
        }
    }

    fn check_replay(&self, first: &[SourceBatch], caps: u64) -> Result<Outcome, String> {
        if caps & DETERMINISTIC_REPLAY == 0 {
            return Ok(Outcome::Skipped(
                "the source does not declare DETERMINISTIC_REPLAY".into(),
            ));
        }
        let mid = first.len() / 2;
        let (_, resumed) = self.drain(&self.options, Some(&first[mid].checkpoint))?;
        let expected = &first[mid + 1..];
        let n = expected.len().min(resumed.len());
        if n == 0 && !expected.is_empty() {
            return Err("resumed from a checkpoint, it emitted nothing".into());
        }
        for (i, (want, got)) in expected.iter().zip(&resumed).take(n).enumerate() {
            if want.data != got.data
                || want.checkpoint != got.checkpoint
                || want.category != got.category
            {
                return Err(format!(
                    "batch {} after the checkpoint differs from the first run",
                    mid + 1 + i
                ));
            }
        }
        Ok(Outcome::Passed)
    }

    fn check_shutdown(&self) -> Result<Outcome, String> {
        let mut inst = self.instance(&self.options)?;
        inst.start(None).map_err(|e| format!("start: {e}"))?;
        let _ = inst
            .poll(Duration::from_millis(100))
            .map_err(|e| format!("poll: {e}"))?;
        if let Some(ck) = self.first_checkpoint(&mut inst)? {
            inst.ack(&ck).map_err(|e| format!("ack: {e}"))?;
        }
        inst.shutdown().map_err(|e| format!("shutdown: {e}"))?;
        drop(inst);
        // Never started: shutdown must still work.
        let mut idle = self.instance(&self.options)?;
        idle.shutdown()
            .map_err(|e| format!("shutdown before start: {e}"))?;
        Ok(Outcome::Passed)
    }

    fn first_checkpoint(&self, inst: &mut ForeignInstance) -> Result<Option<Checkpoint>, String> {
        let deadline = Instant::now() + self.patience;
        while Instant::now() < deadline {
            match inst
                .poll(Duration::from_millis(200))
                .map_err(|e| format!("poll: {e}"))?
            {
                Polled::Batch(b) => return Ok(Some(b.checkpoint)),
                Polled::Pending => {}
                Polled::End => return Ok(None),
            }
        }
        Ok(None)
    }
}

fn check_schema(decl: &[OutputDecl], batches: &[SourceBatch]) -> Result<Outcome, String> {
    if decl.is_empty() {
        return Err("the source declares no outputs".into());
    }
    for (i, b) in batches.iter().enumerate() {
        let Some(d) = decl.iter().find(|d| d.category == b.category) else {
            return Err(format!(
                "batch {i} has category `{}`, which the source does not declare",
                b.category
            ));
        };
        if let Some(schema) = &d.schema
            && let Some(diff) = schema_difference(schema, &b.data.schema())
        {
            return Err(format!("batch {i} of `{}`: {diff}", b.category));
        }
        if b.source_system.is_empty() {
            return Err(format!("batch {i} names no source system"));
        }
    }
    Ok(Outcome::Passed)
}
