//! Errors of `qdp-access`.

use qdp_core::config::ConfigErrors;

/// What can go wrong planning or applying a policy.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The policy file is wrong (file, key and fix in each entry).
    #[error("{0}")]
    Policy(#[from] ConfigErrors),
    /// Postgres refused or failed a step.
    #[error("Postgres ({context}): {message}")]
    Postgres {
        /// What was being done.
        context: String,
        /// The server's or driver's message.
        message: String,
    },
    /// ClickHouse or its users file failed.
    #[error("ClickHouse ({context}): {message}")]
    ClickHouse {
        /// What was being done.
        context: String,
        /// What happened.
        message: String,
    },
    /// The catalogue of `postgres.pipelines` could not be built.
    #[error("the catalogue of `postgres.pipelines`: {0}")]
    Catalogue(String),
    /// Apply ran but the target still differs from the policy.
    #[error("apply did not converge; still different:\n{0}")]
    NotConverged(String),
}

impl Error {
    /// A Postgres error with its server detail (code, message, hint).
    pub fn postgres(context: &str, e: tokio_postgres::Error) -> Self {
        let message = match e.as_db_error() {
            Some(db) => format!(
                "{} ({}){}",
                db.message(),
                db.code().code(),
                db.hint()
                    .map(|h| format!("; hint: {h}"))
                    .unwrap_or_default()
            ),
            None => e.to_string(),
        };
        Error::Postgres {
            context: context.into(),
            message,
        }
    }

    /// A ClickHouse error.
    pub fn clickhouse(context: &str, message: impl ToString) -> Self {
        Error::ClickHouse {
            context: context.into(),
            message: message.to_string(),
        }
    }
}
