//! Options of the `files` source, and the settings checked from them.

use glob::Pattern;
use qdp_sdk::{PluginError, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Text encoding of CSV files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
pub enum Encoding {
    /// UTF-8 (a byte-order mark is skipped).
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    /// Windows-1252, what Excel on Windows writes as "CSV".
    #[serde(rename = "cp1252")]
    Cp1252,
}

/// Options of `files`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesOptions {
    /// The drop folder; only files directly in it are read.
    pub folder: PathBuf,
    /// Where loaded files go, as `<archive>/<yyyy>/<mm>/<dd>/<name>` (default `<folder>/archive`).
    #[serde(default)]
    pub archive: Option<PathBuf>,
    /// Where unreadable files go (default `<folder>/rejected`).
    #[serde(default)]
    pub rejected: Option<PathBuf>,
    /// Dataset name (lower_snake) → file name glob, e.g. `clients = "clients*.csv"`,
    /// or a table with the glob as `pattern` and any of `delimiter`,
    /// `encoding`, `header_row`, `sheet` for that dataset alone.
    pub datasets: BTreeMap<String, DatasetSpec>,
    /// CSV field delimiter, one character (default `,`).
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// CSV encoding: `utf-8` (default) or `cp1252`.
    #[serde(default)]
    pub encoding: Encoding,
    /// 1-based row holding the column names; rows above it are titles and skipped (default 1).
    #[serde(default = "default_header_row")]
    pub header_row: u64,
    /// XLSX sheet to read (default: the first).
    #[serde(default)]
    pub sheet: Option<String>,
    /// A file is read once its modification time is this old (default `2s`),
    /// so a file still being copied is left for the next pass.
    #[serde(default = "default_settle")]
    pub settle: String,
    /// Source system name of the rows (default `files`).
    #[serde(default)]
    pub source_system: Option<String>,
    /// Rows per bronze batch (default 10000).
    #[serde(default = "default_batch_rows")]
    pub batch_rows: usize,
}

/// A dataset's files: a glob, or a glob with its own reading options.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum DatasetSpec {
    /// Just the file name glob.
    Glob(String),
    /// The glob and options that override the source-wide ones.
    Table(DatasetTable),
}

/// A dataset with its own reading options.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetTable {
    /// File name glob.
    pub pattern: String,
    /// CSV delimiter for this dataset.
    #[serde(default)]
    pub delimiter: Option<String>,
    /// CSV encoding for this dataset.
    #[serde(default)]
    pub encoding: Option<Encoding>,
    /// Header row for this dataset.
    #[serde(default)]
    pub header_row: Option<u64>,
    /// Sheet for this dataset.
    #[serde(default)]
    pub sheet: Option<String>,
}

fn default_delimiter() -> String {
    ",".into()
}
fn default_header_row() -> u64 {
    1
}
fn default_settle() -> String {
    "2s".into()
}
fn default_batch_rows() -> usize {
    10_000
}

/// How a dataset's files are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    pub delimiter: u8,
    pub encoding: Encoding,
    pub header_row: u64,
    pub sheet: Option<String>,
}

/// A dataset: its name, the glob its files match, how they are read.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// lower_snake name; the category is `bronze_<name>`.
    pub name: String,
    /// Glob on the file name.
    pub pattern: Pattern,
    /// Reading options (source-wide ones unless the dataset overrides them).
    pub read: ReadOptions,
}

/// Checked settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub folder: PathBuf,
    pub archive: PathBuf,
    pub rejected: PathBuf,
    pub datasets: Vec<Dataset>,
    pub settle: Duration,
    pub source_system: String,
    pub batch_rows: usize,
}

/// One ASCII delimiter character (`\\t` written out means a tab).
fn delimiter(text: &str, key: &str) -> Result<u8> {
    match text.as_bytes() {
        [b] if b.is_ascii() && *b != b'"' && *b != b'\n' && *b != b'\r' => Ok(*b),
        _ if text == "\\t" => Ok(b'\t'),
        _ => Err(PluginError::config(format!(
            "{key}: `{text}` must be one ASCII character such as `,`, `;`, `|` or `\\t`"
        ))),
    }
}

fn header_row(row: u64, key: &str) -> Result<u64> {
    if row == 0 {
        return Err(PluginError::config(format!("{key} counts from 1")));
    }
    Ok(row)
}

/// Whether `name` is lower_snake: `[a-z][a-z0-9_]*`.
pub fn is_lower_snake(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl Settings {
    /// Checks the options; every error is a config error naming the key.
    pub fn new(o: FilesOptions) -> Result<Self> {
        fn cfg(message: impl Into<String>) -> PluginError {
            PluginError::config(message)
        }
        if o.datasets.is_empty() {
            return Err(cfg(
                "datasets must name at least one dataset, e.g. datasets = { clients = \"clients*.csv\" }",
            ));
        }
        let base = ReadOptions {
            delimiter: delimiter(&o.delimiter, "delimiter")?,
            encoding: o.encoding,
            header_row: header_row(o.header_row, "header_row")?,
            sheet: o.sheet.clone(),
        };
        let mut datasets = Vec::new();
        for (name, spec) in &o.datasets {
            if !is_lower_snake(name) {
                return Err(cfg(format!(
                    "datasets: `{name}` is not a lower_snake name ([a-z][a-z0-9_]*)"
                )));
            }
            let (glob, read) = match spec {
                DatasetSpec::Glob(g) => (g, base.clone()),
                DatasetSpec::Table(t) => (
                    &t.pattern,
                    ReadOptions {
                        delimiter: match &t.delimiter {
                            Some(d) => delimiter(d, &format!("datasets.{name}.delimiter"))?,
                            None => base.delimiter,
                        },
                        encoding: t.encoding.unwrap_or(base.encoding),
                        header_row: match t.header_row {
                            Some(h) => header_row(h, &format!("datasets.{name}.header_row"))?,
                            None => base.header_row,
                        },
                        sheet: t.sheet.clone().or_else(|| base.sheet.clone()),
                    },
                ),
            };
            if glob.contains('/') || glob.trim().is_empty() {
                return Err(cfg(format!(
                    "datasets.{name}: `{glob}` must be a file name glob without `/`"
                )));
            }
            let pattern = Pattern::new(glob)
                .map_err(|e| cfg(format!("datasets.{name}: `{glob}` is not a glob: {e}")))?;
            datasets.push(Dataset {
                name: name.clone(),
                pattern,
                read,
            });
        }
        if o.batch_rows == 0 {
            return Err(cfg("batch_rows must be at least 1"));
        }
        let settle =
            qdp_sdk::options::duration(&o.settle, "settle").map_err(PluginError::config)?;
        let source_system = o.source_system.unwrap_or_else(|| "files".into());
        if !is_lower_snake(&source_system) {
            return Err(cfg(format!(
                "source_system `{source_system}` must be lower_snake"
            )));
        }
        Ok(Self {
            archive: o.archive.unwrap_or_else(|| o.folder.join("archive")),
            rejected: o.rejected.unwrap_or_else(|| o.folder.join("rejected")),
            folder: o.folder,
            datasets,
            settle,
            source_system,
            batch_rows: o.batch_rows,
        })
    }

    /// The dataset a file name belongs to: the first, by name, whose glob matches.
    pub fn dataset_of(&self, file_name: &str) -> Option<&Dataset> {
        self.datasets.iter().find(|d| d.pattern.matches(file_name))
    }
}
