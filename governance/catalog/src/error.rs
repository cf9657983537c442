//! Errors of building, writing and loading the catalogue.

use std::path::PathBuf;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A pipeline file that cannot be read or parsed (file, line, key and fix inside).
    #[error("{0}")]
    Pipeline(String),
    /// A gold SQL folder or file that cannot be read.
    #[error("gold SQL `{path}`: {message} (fix: check `gold_sql_dir` or pass --gold-sql DIR)")]
    GoldSql {
        /// The folder or file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The output folder cannot be written.
    #[error("cannot write `{path}`: {message} (fix: choose a writable --out folder)")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Loading the catalogue into Postgres failed (the URL is shown without its password).
    #[error("postgres {url}: {message}")]
    Postgres {
        /// Redacted URL.
        url: String,
        /// The server's message.
        message: String,
    },
}
