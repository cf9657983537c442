//! Options of the `cftc` source.

use crate::family::Family;
use chrono::NaiveDate;
use qdp_sdk::{PluginError, Result};
use serde::Deserialize;

/// The four NYMEX energy contracts loaded when `contracts` is not given:
/// WTI crude (067651), natural gas (023651), NY Harbor ULSD (022651) and
/// RBOB gasoline (111659).
pub const DEFAULT_CONTRACTS: [&str; 4] = ["067651", "023651", "022651", "111659"];

/// Base address of the CFTC's Socrata API.
pub const DEFAULT_BASE_URL: &str = "https://publicreporting.cftc.gov";

/// Options of the `cftc` source.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Yearly report files to read, each a zip holding one `.txt` (or the
    /// `.txt` itself), by URL or local path.
    #[serde(default)]
    pub files: Vec<FileSpec>,
    /// The Socrata API (publicreporting.cftc.gov), if it is read.
    pub socrata: Option<SocrataSpec>,
    /// `CFTC_Contract_Market_Code`s to keep (six letters, digits or `+`, leading
    /// zeros kept). Default: the four NYMEX energy contracts; `[]` keeps all.
    #[serde(default = "default_contracts")]
    pub contracts: Vec<String>,
    /// Report dates loaded before are read again, this many of the newest,
    /// so a corrected week overwrites the stored one. Default 0.
    #[serde(default)]
    pub revisions: u32,
    /// Report dates before this one (`YYYY-MM-DD`) are never loaded.
    pub since: Option<String>,
    /// Rows per `numeric_economic_data` batch at most.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Longest an HTTP request may take, e.g. `60s`.
    #[serde(default = "default_timeout")]
    pub timeout: String,
}

/// One yearly report file.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// The report family the file holds.
    pub family: Family,
    /// `http(s)://` address; `{year}` becomes the year of the latest
    /// published report date (e.g. `.../fut_disagg_txt_{year}.zip`).
    pub url: Option<String>,
    /// Local path, instead of `url`; `{year}` expands the same way.
    pub path: Option<String>,
}

impl FileSpec {
    /// The address or path, whichever is given.
    pub fn location(&self) -> Result<&str> {
        match (&self.url, &self.path) {
            (Some(u), None) if u.starts_with("http://") || u.starts_with("https://") => Ok(u),
            (Some(u), None) => Err(PluginError::config(format!(
                "files: url `{u}` must start with http:// or https:// (use `path` for local files)"
            ))),
            (None, Some(p)) if !p.trim().is_empty() => Ok(p),
            _ => Err(PluginError::config(format!(
                "files: each {} file needs exactly one of `url` or `path`",
                self.family.name()
            ))),
        }
    }
}

/// The Socrata API.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SocrataSpec {
    /// Default `https://publicreporting.cftc.gov`.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Dataset id per family; only the families listed are read. Default:
    /// all three futures-only datasets (72hh-3qpy, 6dca-aqww, gpe5-46if).
    pub datasets: Option<Datasets>,
    /// Rows per page (`$limit`); pages follow with `$offset`.
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// Socrata application token, sent as `X-App-Token` (never logged).
    pub app_token: Option<String>,
}

/// Socrata dataset ids by family.
#[derive(Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Datasets {
    /// Disaggregated futures only (72hh-3qpy).
    pub disaggregated: Option<String>,
    /// Legacy futures only (6dca-aqww).
    pub legacy: Option<String>,
    /// TFF futures only (gpe5-46if).
    pub tff: Option<String>,
}

impl SocrataSpec {
    /// `(family, dataset id)` pairs to read, checked.
    pub fn datasets(&self) -> Result<Vec<(Family, String)>> {
        let list = match &self.datasets {
            None => Family::ALL
                .iter()
                .map(|f| (*f, f.default_dataset().to_string()))
                .collect(),
            Some(d) => [
                (Family::Disaggregated, &d.disaggregated),
                (Family::Legacy, &d.legacy),
                (Family::Tff, &d.tff),
            ]
            .into_iter()
            .filter_map(|(f, id)| id.clone().map(|id| (f, id)))
            .collect::<Vec<_>>(),
        };
        for (f, id) in &list {
            let ok = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !ok {
                return Err(PluginError::config(format!(
                    "socrata.datasets.{}: `{id}` is not a dataset id like 72hh-3qpy",
                    f.name()
                )));
            }
        }
        Ok(list)
    }
}

fn default_contracts() -> Vec<String> {
    DEFAULT_CONTRACTS.iter().map(|s| s.to_string()).collect()
}
fn default_batch_size() -> usize {
    50_000
}
fn default_timeout() -> String {
    "120s".into()
}
fn default_base_url() -> String {
    DEFAULT_BASE_URL.into()
}
fn default_page_size() -> usize {
    5_000
}

/// A contract code as the key is written: trimmed, six letters, digits or
/// `+` (the publisher's "Consolidated" index markets are `12460+`,
/// `13874+`, `20974+`), upper case.
pub fn contract_code(text: &str) -> Option<String> {
    let t = text.trim();
    let ok = t.len() == 6 && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '+');
    ok.then(|| t.to_ascii_uppercase())
}

/// Checks the options that do not need the network.
pub fn check(o: &Options) -> Result<()> {
    if o.batch_size == 0 {
        return Err(PluginError::config("batch_size must be at least 1"));
    }
    for c in &o.contracts {
        if contract_code(c).is_none() {
            return Err(PluginError::config(format!(
                "contracts: `{c}` is not a CFTC contract market code (six letters, digits or `+`, e.g. \"067651\")"
            )));
        }
    }
    if let Some(s) = &o.since {
        parse_day(s).ok_or_else(|| {
            PluginError::config(format!("since: `{s}` is not a date like 2024-01-02"))
        })?;
    }
    for f in &o.files {
        f.location()?;
    }
    if let Some(s) = &o.socrata {
        if !(s.base_url.starts_with("http://") || s.base_url.starts_with("https://")) {
            return Err(PluginError::config(format!(
                "socrata.base_url `{}` must start with http:// or https://",
                s.base_url
            )));
        }
        if s.page_size == 0 {
            return Err(PluginError::config("socrata.page_size must be at least 1"));
        }
        s.datasets()?;
    }
    Ok(())
}

/// `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}
