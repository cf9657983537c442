//! Options of the `file` sink.

use serde::Deserialize;
use std::path::PathBuf;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Apache Parquet, zstd-compressed.
    Parquet,
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated values with a header row.
    Csv,
}

impl Format {
    /// File extension.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
        }
    }
}

/// Options of `file`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileOptions {
    /// Output directory; files go to `<path>/<category>/`.
    pub path: PathBuf,
    /// parquet (default), ndjson or csv.
    #[serde(default = "default_format")]
    pub format: Format,
    /// zstd level for Parquet (1-22, default 3).
    #[serde(default = "default_level")]
    pub compression_level: i32,
    /// fsync files and directories before a write counts as committed (default true).
    #[serde(default = "default_true")]
    pub fsync: bool,
}

fn default_format() -> Format {
    Format::Parquet
}

fn default_level() -> i32 {
    3
}

fn default_true() -> bool {
    true
}
