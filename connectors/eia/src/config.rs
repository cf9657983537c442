//! Options of the `eia` source and their checks.
//!
//! One component type with two modes, because the SDK exports one component
//! per library: `api_v2` reads series from EIA's API v2, `wpsr_csv` reads the
//! Weekly Petroleum Status Report tables EIA posts on ir.eia.gov.

use qdp_sdk::PluginError;
use qdp_sdk::calendar::ReleaseCalendar;
use qdp_sdk::options::duration;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Largest page EIA's API v2 returns in JSON.
pub const MAX_PAGE: usize = 5000;

/// Options of the `eia` source.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// `api_v2` (default) or `wpsr_csv`.
    #[serde(default)]
    pub mode: Mode,
    /// API v2: the key, written `${EIA_API_KEY}` or `${file:/run/secrets/eia}`
    /// in pipeline files. Never logged, never in errors or object names, and
    /// replaced by `***` in the raw documents before they are emitted.
    pub api_key: Option<String>,
    /// API v2: root of the API (default `https://api.eia.gov/v2`).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// API v2: the series to load (default: the weekly petroleum status
    /// series, see [`default_series`]). An empty list loads nothing.
    pub series: Option<Vec<Series>>,
    /// API v2: first period of the first load (`2020-01-03`, `2020-01`,
    /// `2020`); without it the first load takes the whole history.
    pub start: Option<String>,
    /// API v2: how many periods before the last loaded one every later pass
    /// asks for again, so revised values are picked up (default 4).
    #[serde(default = "default_revisions")]
    pub revisions: u32,
    /// API v2: rows per page, at most 5000 (default 5000).
    #[serde(default = "default_length")]
    pub length: usize,
    /// WPSR CSV: the table URLs (default `https://ir.eia.gov/wpsr/table1.csv`).
    pub urls: Option<Vec<String>>,
    /// Shortest wait between two requests (default `1s`).
    #[serde(default = "default_interval")]
    pub min_interval: String,
    /// How many times a 429, a 5xx or a network error is retried (default 5).
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// First wait before a retry, doubled each time up to `retry_max` (default `2s`).
    #[serde(default = "default_retry_initial")]
    pub retry_initial: String,
    /// Longest wait before a retry (default `60s`).
    #[serde(default = "default_retry_max")]
    pub retry_max: String,
    /// Timeout of one request (default `60s`).
    #[serde(default = "default_timeout")]
    pub timeout: String,
    /// `source_system_name` of the rows (default `eia_api_v2` or `eia_wpsr_csv`).
    pub source_system: Option<String>,
    /// WPSR CSV: a table must end with EIA's end-of-file byte 0x1A, so one
    /// cut short is fetched again instead of loaded with lines missing
    /// (default true).
    #[serde(default = "default_true")]
    pub end_marker: bool,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("mode", &self.mode)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("base_url", &self.base_url)
            .field("series", &self.series)
            .field("urls", &self.urls)
            .finish_non_exhaustive()
    }
}

/// Which publication the source reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// EIA's API v2 (JSON).
    #[default]
    ApiV2,
    /// The WPSR tables on ir.eia.gov (CSV).
    WpsrCsv,
}

/// One API v2 request: a route (or a v1 series id) and its facets.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Series {
    /// Route under the API root, e.g. `petroleum/stoc/wstk`.
    pub route: Option<String>,
    /// A v1 series id read through `/seriesid/`, e.g. `PET.WCESTUS1.W`,
    /// instead of `route` and `facets`.
    pub seriesid: Option<String>,
    /// `weekly`, `monthly`, `daily`, `annual`, ... (default `weekly`).
    #[serde(default = "default_frequency")]
    pub frequency: String,
    /// Facet filters, e.g. `{ series = ["WCESTUS1"] }`.
    #[serde(default)]
    pub facets: BTreeMap<String, Vec<String>>,
    /// `release_code` of the rows (default `EIA-<route with - for />`).
    pub release_code: Option<String>,
    /// Release calendar that gives `release_time` (`eia_wpsr`); without one
    /// `release_time` is the start of the period at 00:00 UTC.
    pub release_calendar: Option<String>,
}

impl Series {
    /// A stable key for this request, used for its watermark in the checkpoint.
    pub fn key(&self) -> String {
        match (&self.seriesid, &self.route) {
            (Some(id), _) => format!("seriesid:{id}"),
            (None, route) => {
                let facets: Vec<String> = self
                    .facets
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.join(",")))
                    .collect();
                format!(
                    "route:{}|{}|{}",
                    route.as_deref().unwrap_or_default(),
                    self.frequency,
                    facets.join(";")
                )
            }
        }
    }

    /// The release code of the rows.
    pub fn release_code(&self) -> String {
        if let Some(c) = &self.release_code {
            return c.clone();
        }
        let what = self
            .route
            .as_deref()
            .or(self.seriesid.as_deref())
            .unwrap_or("series");
        format!("EIA-{}", what.replace(['/', '.'], "-").to_ascii_uppercase())
    }

    /// The calendar, when one is configured.
    pub fn calendar(&self) -> Option<ReleaseCalendar> {
        self.release_calendar
            .as_deref()
            .and_then(ReleaseCalendar::from_name)
    }
}

/// The default API v2 series: the headline numbers of the Weekly Petroleum
/// Status Report, all under release code `EIA-WPSR` and the `eia_wpsr`
/// calendar.
///
/// Routes, as EIA's API browser files them (checked against public clients
/// of the API): stocks (`WCESTUS1` commercial crude excluding SPR,
/// `W_EPC0_SAX_YCUOK_MBBL` Cushing, `WGTSTUS1` gasoline, `WDISTUS1`
/// distillate) under `petroleum/stoc/wstk`; crude field production
/// `WCRFPUS2` under `petroleum/sum/sndw` (weekly supply estimates);
/// refinery utilisation `WPULEUS3` under `petroleum/pnp/wiup`; crude net
/// imports `WCRNTUS2` under `petroleum/move/wkly`. The last one is an
/// assumption (the route holds the other weekly net-import series such as
/// `WRPNTUS2`); `WCRNTUS2` is also in `petroleum/sum/sndw` should it move.
pub fn default_series() -> Vec<Series> {
    let wpsr = |route: &str, ids: &[&str]| Series {
        route: Some(route.to_string()),
        seriesid: None,
        frequency: "weekly".into(),
        facets: BTreeMap::from([(
            "series".to_string(),
            ids.iter().map(|s| s.to_string()).collect(),
        )]),
        release_code: Some("EIA-WPSR".into()),
        release_calendar: Some("eia_wpsr".into()),
    };
    vec![
        wpsr(
            "petroleum/stoc/wstk",
            &["WCESTUS1", "W_EPC0_SAX_YCUOK_MBBL", "WGTSTUS1", "WDISTUS1"],
        ),
        wpsr("petroleum/sum/sndw", &["WCRFPUS2"]),
        wpsr("petroleum/pnp/wiup", &["WPULEUS3"]),
        wpsr("petroleum/move/wkly", &["WCRNTUS2"]),
    ]
}

fn default_base_url() -> String {
    "https://api.eia.gov/v2".into()
}
fn default_revisions() -> u32 {
    4
}
fn default_length() -> usize {
    MAX_PAGE
}
fn default_interval() -> String {
    "1s".into()
}
fn default_retries() -> u32 {
    5
}
fn default_retry_initial() -> String {
    "2s".into()
}
fn default_retry_max() -> String {
    "60s".into()
}
fn default_true() -> bool {
    true
}

fn default_timeout() -> String {
    "60s".into()
}
fn default_frequency() -> String {
    "weekly".into()
}

/// Default table of the WPSR mode.
pub const DEFAULT_WPSR_URL: &str = "https://ir.eia.gov/wpsr/table1.csv";

/// How requests are paced and retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// Shortest wait between two requests.
    pub min_interval: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First retry wait.
    pub retry_initial: Duration,
    /// Longest retry wait.
    pub retry_max: Duration,
    /// Timeout of one request.
    pub timeout: Duration,
}

/// Options checked and resolved: what the source runs with.
#[derive(Clone)]
pub struct Checked {
    /// The mode.
    pub mode: Mode,
    /// The API key (API v2 only).
    pub api_key: String,
    /// API root without a trailing slash.
    pub base_url: String,
    /// Series of the API mode.
    pub series: Vec<Series>,
    /// First period of the first load.
    pub start: Option<String>,
    /// Periods asked for again.
    pub revisions: u32,
    /// Rows per page.
    pub length: usize,
    /// Table URLs of the WPSR mode.
    pub urls: Vec<String>,
    /// Pacing and retries.
    pub pacing: Pacing,
    /// `source_system_name`.
    pub source_system: String,
    /// A WPSR table must end with 0x1A.
    pub end_marker: bool,
}

fn http_url(url: &str, key: &str) -> Result<(), PluginError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(PluginError::config(format!(
            "{key}: `{url}` must start with http:// or https://"
        )))
    }
}

impl Options {
    /// Checks every option; each error names the key and the fix.
    pub fn check(self) -> Result<Checked, PluginError> {
        let d = |t: &str, k: &str| duration(t, k).map_err(PluginError::config);
        let pacing = Pacing {
            min_interval: d(&self.min_interval, "min_interval")?,
            max_retries: self.max_retries,
            retry_initial: d(&self.retry_initial, "retry_initial")?,
            retry_max: d(&self.retry_max, "retry_max")?,
            timeout: d(&self.timeout, "timeout")?,
        };
        if self.length == 0 || self.length > MAX_PAGE {
            return Err(PluginError::config(format!(
                "length: {} is not a page size from 1 to {MAX_PAGE}",
                self.length
            )));
        }
        let (api_key, series, urls, default_system) = match self.mode {
            Mode::ApiV2 => {
                if self.urls.is_some() {
                    return Err(PluginError::config(
                        "urls belongs to mode = \"wpsr_csv\"; use series with mode = \"api_v2\"",
                    ));
                }
                let key = self.api_key.clone().unwrap_or_default();
                if key.trim().is_empty() {
                    return Err(PluginError::config(
                        "api_key is required with mode = \"api_v2\": write api_key = \"${EIA_API_KEY}\"",
                    ));
                }
                http_url(&self.base_url, "base_url")?;
                let series = self.series.clone().unwrap_or_else(default_series);
                for (i, s) in series.iter().enumerate() {
                    check_series(s, i)?;
                }
                if let Some(start) = &self.start
                    && crate::period::Period::parse(start).is_none()
                {
                    return Err(PluginError::config(format!(
                        "start: `{start}` is not a period like 2020-01-03, 2020-01 or 2020"
                    )));
                }
                (key, series, Vec::new(), "eia_api_v2")
            }
            Mode::WpsrCsv => {
                if self.series.is_some() || self.api_key.is_some() {
                    return Err(PluginError::config(
                        "series and api_key belong to mode = \"api_v2\"; mode = \"wpsr_csv\" takes urls",
                    ));
                }
                let urls = self
                    .urls
                    .clone()
                    .unwrap_or_else(|| vec![DEFAULT_WPSR_URL.to_string()]);
                for u in &urls {
                    http_url(u, "urls")?;
                }
                (String::new(), Vec::new(), urls, "eia_wpsr_csv")
            }
        };
        Ok(Checked {
            mode: self.mode,
            api_key,
            base_url: self.base_url.trim_end_matches('/').to_string(),
            series,
            start: self.start,
            revisions: self.revisions,
            length: self.length,
            urls,
            pacing,
            source_system: self
                .source_system
                .unwrap_or_else(|| default_system.to_string()),
            end_marker: self.end_marker,
        })
    }
}

fn check_series(s: &Series, i: usize) -> Result<(), PluginError> {
    let at = format!("series[{i}]");
    match (&s.route, &s.seriesid) {
        (Some(_), Some(_)) => {
            return Err(PluginError::config(format!(
                "{at}: give route or seriesid, not both"
            )));
        }
        (None, None) => {
            return Err(PluginError::config(format!(
                "{at}: give route = \"petroleum/stoc/wstk\" (with facets) or seriesid = \"PET.WCESTUS1.W\""
            )));
        }
        (Some(r), None) if r.trim_matches('/').is_empty() || r.contains(['?', '&', '#']) => {
            return Err(PluginError::config(format!(
                "{at}.route: `{r}` is not a route like petroleum/stoc/wstk"
            )));
        }
        _ => {}
    }
    if let Some(c) = &s.release_calendar
        && ReleaseCalendar::from_name(c).is_none()
    {
        let known: Vec<&str> = ReleaseCalendar::ALL.iter().map(|c| c.name()).collect();
        return Err(PluginError::config(format!(
            "{at}.release_calendar: `{c}` is not one of {}",
            known.join(", ")
        )));
    }
    if s.frequency.trim().is_empty() {
        return Err(PluginError::config(format!("{at}.frequency is empty")));
    }
    Ok(())
}
