//! Postgres errors as plugin errors: what a retry can fix (a lost
//! connection, a deadlock, a server shutting down) is retryable; bad rows
//! (NOT NULL, a value out of range) and bad SQL are not.

use crate::config::Checked;
use qdp_sdk::PluginError;
use tokio_postgres::error::SqlState;

/// Whether an error class (the first two characters of SQLSTATE) is
/// transient: connection (08), transaction rollback such as deadlock or
/// serialization (40), insufficient resources (53), operator intervention
/// such as admin shutdown (57), system error (58).
pub fn transient_class(code: &str) -> bool {
    matches!(code.get(..2), Some("08" | "40" | "53" | "57" | "58"))
}

/// Whether an error class is the data's fault: data exception (22) or
/// integrity constraint violation (23).
pub fn data_class(code: &str) -> bool {
    matches!(code.get(..2), Some("22" | "23"))
}

/// Converts `e`, raised while doing `what`, scrubbing the password.
pub fn convert(c: &Checked, e: &tokio_postgres::Error, what: &str) -> PluginError {
    let err = match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            let mut msg = format!("{what}: {} (SQLSTATE {code})", db.message());
            if let Some(d) = db.detail() {
                msg.push_str(&format!("; {d}"));
            }
            if let Some(t) = db.table() {
                msg.push_str(&format!("; table {t}"));
            }
            if let Some(col) = db.column() {
                msg.push_str(&format!(" column {col}"));
            }
            let msg = c.redact(&msg);
            if transient_class(code) {
                PluginError::external(msg)
            } else if data_class(code) || *db.code() == SqlState::SYNTAX_ERROR {
                PluginError::config(msg)
            } else {
                PluginError::external(msg).retryable(false)
            }
        }
        None => {
            // No server answer: the connection broke, or a value could not be encoded.
            let text = c.redact(&e.to_string());
            if text.contains("serializ") {
                PluginError::internal(format!("{what}: {text}"))
            } else {
                PluginError::external(format!(
                    "{what}: connection to Postgres at {} failed: {text}",
                    c.endpoint
                ))
            }
        }
    };
    err.with_context("postgres", &c.shown_url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert!(transient_class("08006") && transient_class("40P01") && transient_class("57P01"));
        assert!(!transient_class("23505") && !transient_class("42P01") && !transient_class(""));
        assert!(data_class("23502") && data_class("22003") && !data_class("42601"));
    }
}
