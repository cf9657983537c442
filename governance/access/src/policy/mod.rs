//! The access policy: parsed, interpolated, checked and with its passwords
//! resolved, before anything talks to a database.

mod locate;
pub mod model;
mod password;
mod pipelines;
mod secret;
mod validate;

pub use model::{Audit, ClickHouseTarget, Pipeline, PolicyFile, PostgresTarget, Role, User};
pub use secret::Secret;

use qdp_core::config::{ConfigError, ConfigErrors, Loc};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A checked policy, ready to plan.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The file it came from.
    pub path: PathBuf,
    /// The file's content with `${...}` resolved in the target settings.
    pub spec: PolicyFile,
    /// Every user's password, resolved from env or file.
    pub passwords: BTreeMap<String, Secret>,
}

impl Policy {
    /// Reads, parses and checks `path`, resolving `${...}` and passwords from
    /// the process environment.
    pub fn load(path: &Path) -> Result<Self, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            one(
                Loc::at(path, "", 0),
                "(file)",
                format!("cannot read the policy: {e}"),
                "check the path",
            )
        })?;
        Self::parse(path, &text, &|k| std::env::var(k).ok())
    }

    /// Parses and checks `text` (the content of `path`), resolving
    /// environment variables with `env`.
    pub fn parse(
        path: &Path,
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigErrors> {
        let doc = locate::Doc::parse(path, text)?;
        let spec: PolicyFile = toml_edit::de::from_str(text).map_err(|e| {
            let loc = Loc::at(path, text, e.span().map_or(0, |s| s.start));
            one(
                loc,
                "(policy)",
                e.message().trim().to_string(),
                "see examples/access.toml for the keys each table takes",
            )
        })?;
        let (spec, passwords) = validate::check(&doc, spec, env)?;
        Ok(Self {
            path: path.to_path_buf(),
            spec,
            passwords,
        })
    }
}

fn one(loc: Loc, key: &str, message: String, fix: &str) -> ConfigErrors {
    ConfigErrors(vec![ConfigError {
        loc,
        key: key.into(),
        message,
        fix: fix.into(),
    }])
}
