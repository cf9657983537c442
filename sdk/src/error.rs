//! The one error type that crosses the plugin boundary, classified by domain and retryability.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an error comes from, which decides who has to act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorDomain {
    /// The user's configuration or input is wrong; retrying will not help.
    Config,
    /// An outside system (network, database, broker, file system) failed.
    External,
    /// A bug or broken invariant inside the component (panics land here).
    Internal,
}

/// An error reported by a plugin component.
///
/// It is plain data (domain, retryability, message, key/value context) so it
/// crosses the C ABI as JSON and means the same on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct PluginError {
    /// Who has to act.
    pub domain: ErrorDomain,
    /// Whether the same call may succeed if tried again later.
    pub retryable: bool,
    /// One line that says what went wrong.
    pub message: String,
    /// Key/value context: URL, topic, table, file:line and the like.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<(String, String)>,
}

impl PluginError {
    /// A configuration error: never retried.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorDomain::Config, false, message)
    }

    /// A failure of an outside system: retried with backoff.
    pub fn external(message: impl Into<String>) -> Self {
        Self::new(ErrorDomain::External, true, message)
    }

    /// A bug inside the component: the component is restarted.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorDomain::Internal, false, message)
    }

    fn new(domain: ErrorDomain, retryable: bool, message: impl Into<String>) -> Self {
        Self {
            domain,
            retryable,
            message: message.into(),
            context: Vec::new(),
        }
    }

    /// Adds a key/value pair of context.
    pub fn with_context(mut self, key: impl Into<String>, value: impl fmt::Display) -> Self {
        self.context.push((key.into(), value.to_string()));
        self
    }

    /// Overrides whether the error may be retried.
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        for (k, v) in &self.context {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

impl From<arrow::error::ArrowError> for PluginError {
    fn from(e: arrow::error::ArrowError) -> Self {
        PluginError::internal(format!("arrow: {e}"))
    }
}

impl From<std::io::Error> for PluginError {
    fn from(e: std::io::Error) -> Self {
        PluginError::external(format!("io: {e}"))
    }
}

/// Result alias used by every component trait.
pub type Result<T, E = PluginError> = std::result::Result<T, E>;
