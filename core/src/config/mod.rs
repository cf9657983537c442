//! Pipeline configuration: a Vector-style topology in TOML.
//!
//! `[sources.ID]`, `[transforms.ID]` and `[sinks.ID]` tables each name a
//! component `type` and carry its options; transforms and sinks list their
//! `inputs` (`id` for a main output, `id.unqualified` for the reject port).
//! Strings may reference `${ENV}` or `${file:PATH}`. Parsing reports every
//! problem at once with file, line, key and fix; [`crate::plan`] then checks
//! the graph against the components themselves.

mod duration;
mod error;
mod interpolate;
mod model;
mod parse;
mod size;

pub use duration::parse_duration;
pub use error::{ConfigError, ConfigErrors, Loc, closest};
pub use interpolate::interpolate;
pub use model::*;
pub use parse::parse_pipeline;
pub use size::parse_size;

use std::path::Path;

/// Reads and parses a pipeline file, resolving `${...}` from the process environment.
pub fn load_pipeline(path: &Path) -> Result<PipelineConfig, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            loc: Loc {
                file: path.to_path_buf(),
                line: 0,
                column: 0,
            },
            key: "(file)".into(),
            message: format!("cannot read the pipeline file: {e}"),
            fix: "check the path".into(),
        }])
    })?;
    parse_pipeline(path, &text, &|k| std::env::var(k).ok())
}
