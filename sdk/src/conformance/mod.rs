//! The conformance kit: one call in a plugin's own tests proves that the
//! built library keeps the contracts the runtime relies on.
//!
//! The kit loads the plugin through the same dynamic loader the host uses
//! (never by static linking) and runs every check that applies to its kind:
//!
//! | check | source | transform | sink |
//! |---|---|---|---|
//! | `descriptor`: kind, name, version, options schema | ✓ | ✓ | ✓ |
//! | `options`: good options accepted; an unknown key, each given bad option and the wrong kind refused as config errors | ✓ | ✓ | ✓ |
//! | `empty_input`: nothing in, nothing out, no error | ✓ (with `empty_options`) | ✓ | ✓ |
//! | `schema`: every batch matches the declared category and schema | ✓ | ✓ | ✓ (`accepts`) |
//! | `resume`: a new instance started from a checkpoint continues after it | ✓ (`RESUME`) | | |
//! | `replay`: a replay adds no duplicates | ✓ (`DETERMINISTIC_REPLAY`) | ✓ (same input, same output) | ✓ (`IDEMPOTENT_WRITE`, with `read_back`) |
//! | `shutdown`: shutdown succeeds and the instance is released | ✓ | ✓ | ✓ |
//! | `panic`: a panic inside the library is contained and the library stays usable | ✓ | ✓ | ✓ |
//!
//! ```no_run
//! use qdp_sdk::conformance;
//! use serde_json::json;
//!
//! let lib = conformance::built_library("qdp_market_sim").unwrap();
//! conformance::source(lib, json!({ "max_ticks": 2000, "rate": 0 }))
//!     .bad_options(json!({ "batch_size": 0 }))
//!     .empty_options(json!({ "max_ticks": 0 }))
//!     .run()
//!     .assert_passed();
//! ```

mod sink;
mod source;
mod transform;

pub use sink::{SinkKit, sink};
pub use source::{SourceKit, source};
pub use transform::{TransformKit, transform};

use crate::Context;
pub(crate) use crate::batch::schema_difference;
use crate::error::{ErrorDomain, PluginError};
use crate::ffi::host::{Kind, PluginLibrary};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Finds and loads `lib<name>.so` that cargo built next to the running test
/// binary (`target/<profile>/`), where `name` is the crate name with `_`.
pub fn built_library(name: &str) -> Result<Arc<PluginLibrary>, String> {
    let file = format!("lib{name}.so");
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the test binary: {e}"))?;
    let candidates: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(3)
        .map(|d| d.join(&file))
        .collect();
    let path = candidates.iter().find(|p| p.exists()).ok_or_else(|| {
        format!(
            "{file} is not built (looked in {}): run the tests with `cargo test -p <crate>` so cargo builds the cdylib",
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    PluginLibrary::open(path).map_err(|e| e.to_string())
}

/// Outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The contract holds.
    Passed,
    /// The contract does not hold; the text says how.
    Failed(String),
    /// The check does not apply (a capability is not declared, or the test
    /// did not give what it needs); the text says why.
    Skipped(String),
}

/// Every check's outcome, in the order they ran.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Plugin name.
    pub plugin: String,
    /// `(check, outcome)` pairs.
    pub checks: Vec<(&'static str, Outcome)>,
}

impl Report {
    fn new(lib: &PluginLibrary) -> Self {
        Self {
            plugin: lib.info().name.clone(),
            checks: Vec::new(),
        }
    }

    fn record(&mut self, check: &'static str, result: Result<Outcome, String>) {
        let outcome = result.unwrap_or_else(Outcome::Failed);
        self.checks.push((check, outcome));
    }

    /// The outcome of `check`, if it ran.
    pub fn outcome(&self, check: &str) -> Option<&Outcome> {
        self.checks
            .iter()
            .find(|(c, _)| *c == check)
            .map(|(_, o)| o)
    }

    /// Checks that failed.
    pub fn failures(&self) -> Vec<(&'static str, &str)> {
        self.checks
            .iter()
            .filter_map(|(c, o)| match o {
                Outcome::Failed(why) => Some((*c, why.as_str())),
                _ => None,
            })
            .collect()
    }

    /// Prints the report and panics if any check failed.
    #[track_caller]
    pub fn assert_passed(&self) {
        println!("{self}");
        let failures = self.failures();
        assert!(
            failures.is_empty(),
            "plugin `{}` fails {} conformance check(s):\n{self}",
            self.plugin,
            failures.len()
        );
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "conformance of `{}`:", self.plugin)?;
        for (check, outcome) in &self.checks {
            match outcome {
                Outcome::Passed => writeln!(f, "  ok    {check}")?,
                Outcome::Failed(why) => writeln!(f, "  FAIL  {check}: {why}")?,
                Outcome::Skipped(why) => writeln!(f, "  skip  {check}: {why}")?,
            }
        }
        Ok(())
    }
}

/// Kind, name, version and options schema are present and sane.
fn check_descriptor(lib: &PluginLibrary, kind: Kind) -> Result<Outcome, String> {
    let info = lib.info();
    if info.kind != kind {
        return Err(format!("library is a {}, tested as a {kind}", info.kind));
    }
    if info.name.is_empty() || info.version.is_empty() {
        return Err("name and version must not be empty".into());
    }
    if !info.options_schema.is_object() {
        return Err(format!(
            "options schema is not a JSON object: {}",
            info.options_schema
        ));
    }
    Ok(Outcome::Passed)
}

/// Good options build an instance; an unknown key, every bad option and the
/// wrong kind are refused as config errors.
fn check_options(
    lib: &Arc<PluginLibrary>,
    kind: Kind,
    good: &serde_json::Value,
    bad: &[serde_json::Value],
) -> Result<Outcome, String> {
    let ctx = Context::default();
    lib.instantiate(kind, good, &ctx)
        .map_err(|e| format!("valid options {good} refused: {e}"))?;
    let mut unknown = good.clone();
    if let Some(map) = unknown.as_object_mut() {
        map.insert("qdp_conformance_unknown_key".into(), serde_json::json!(1));
        expect_config_error(
            lib.instantiate(kind, &unknown, &ctx).map(drop),
            "an unknown option key",
        )?;
    }
    for b in bad {
        expect_config_error(
            lib.instantiate(kind, b, &ctx).map(drop),
            &format!("options {b}"),
        )?;
    }
    let other = if kind == Kind::Sink {
        Kind::Source
    } else {
        Kind::Sink
    };
    expect_config_error(
        lib.instantiate(other, good, &ctx).map(drop),
        "use as the wrong kind",
    )?;
    Ok(Outcome::Passed)
}

fn expect_config_error(r: Result<(), PluginError>, what: &str) -> Result<(), String> {
    match r {
        Ok(()) => Err(format!("{what} was accepted; it must be a config error")),
        Err(e) if e.domain == ErrorDomain::Config => Ok(()),
        Err(e) => Err(format!(
            "{what} gave a {:?} error, not a config error: {e}",
            e.domain
        )),
    }
}

/// A deliberate panic comes back as an internal error and the library can
/// still build working instances afterwards.
fn check_panic(
    lib: &Arc<PluginLibrary>,
    kind: Kind,
    good: &serde_json::Value,
) -> Result<Outcome, String> {
    let e = lib.probe_panic().map_err(|e| format!("panic probe: {e}"))?;
    if e.domain != ErrorDomain::Internal || !e.message.contains("panicked") {
        return Err(format!(
            "a panic was reported as {e}, not as an internal `plugin panicked` error"
        ));
    }
    lib.instantiate(kind, good, &Context::default())
        .map_err(|e| format!("the library is unusable after a contained panic: {e}"))?;
    Ok(Outcome::Passed)
}
