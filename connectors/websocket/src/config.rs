//! Options of the `websocket` source.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Options of the `websocket` source.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// `ws://` or `wss://` address of the feed.
    pub url: String,
    /// How frames are read: `generic` (columns picked by JSON pointer) or
    /// `ibkr_cpapi` (Interactive Brokers Client Portal `smd` streaming).
    #[serde(default)]
    pub preset: Preset,
    /// Text messages sent after every (re)connect, before anything else.
    #[serde(default)]
    pub subscribe: Vec<String>,
    /// A text message sent periodically to keep the session alive.
    pub heartbeat: Option<Heartbeat>,
    /// First wait before reconnecting after a lost connection (doubles each time).
    #[serde(default = "default_initial")]
    pub reconnect_initial: String,
    /// Longest wait between reconnection attempts.
    #[serde(default = "default_max")]
    pub reconnect_max: String,
    /// Rows per emitted batch at most.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Longest a row waits for its batch to fill.
    #[serde(default = "default_wait")]
    pub max_wait: String,
    /// `source_system` of the rows (default: the preset's name, or `websocket`).
    pub source_system: Option<String>,
    /// Frames buffered between the socket and the runtime; when full, the
    /// socket is not read (TCP backpressure) rather than frames dropped.
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// Generic preset: the category of the rows and their columns.
    pub generic: Option<Generic>,
    /// IBKR preset: instruments and fields.
    pub ibkr: Option<Ibkr>,
    /// TLS settings for `wss://` beyond the system's trusted roots.
    pub tls: Option<Tls>,
}

/// How frames are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// One row per JSON frame, columns picked by JSON pointer.
    #[default]
    Generic,
    /// Interactive Brokers Client Portal streaming market data.
    IbkrCpapi,
}

/// TLS for `wss://` feeds.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// A PEM file of certificates to trust besides the system's roots: the
    /// private CA of an internal gateway, or the self-signed certificate of
    /// a local one (the IBKR Client Portal gateway ships one).
    pub ca_file: Option<String>,
    /// Accept any certificate. Only for a gateway on the same host; the
    /// source logs a warning at every connect.
    #[serde(default)]
    pub accept_invalid_certs: bool,
}

/// A keep-alive message.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// The text sent.
    pub message: String,
    /// How often, e.g. `55s`.
    pub every: String,
}

/// Generic frames: one row per JSON object frame.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Generic {
    /// Category of the rows, e.g. `raw_vendor_ticks` (mapped onto a category schema by a `map` transform).
    pub category: String,
    /// Only frames where this JSON pointer holds this value become rows, e.g. `{ pointer = "/type", equals = "trade" }`; others are skipped.
    pub only_if: Option<Filter>,
    /// Output columns, in order: name → where the value is and its type.
    pub columns: BTreeMap<String, Column>,
}

/// A frame filter.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// JSON pointer, e.g. `/type`.
    pub pointer: String,
    /// The value it must hold (compared as text).
    pub equals: String,
}

/// One output column of a generic frame.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// JSON pointer into the frame, e.g. `/data/price`.
    pub pointer: String,
    /// `utf8` (default), `float64` or `int64`; numbers sent as strings are parsed.
    #[serde(default)]
    pub r#type: ColumnType,
    /// A missing value is null instead of making the frame unqualified.
    #[serde(default)]
    pub optional: bool,
}

/// Column types of generic frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Text.
    #[default]
    Utf8,
    /// 64-bit float.
    Float64,
    /// 64-bit integer.
    Int64,
}

/// The IBKR Client Portal preset.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ibkr {
    /// Instruments by contract id (conid): what the rows call them.
    pub instruments: BTreeMap<String, Instrument>,
    /// Field codes subscribed (default: 31 last, 7059 last size, 84 bid, 88 bid size, 86 ask, 85 ask size).
    #[serde(default = "default_fields")]
    pub fields: Vec<String>,
}

/// One instrument of the IBKR preset.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    /// Symbol code written in the rows, e.g. `ESH3`.
    pub symbol: String,
    /// Exchange code, e.g. `CME`.
    pub exchange: String,
    /// `future`, `option` or `other`.
    #[serde(default = "default_type")]
    pub symbol_type: String,
    /// Unit of prices, e.g. `1_USD`.
    #[serde(default = "default_price_unit")]
    pub price_unit: String,
    /// Unit of sizes, e.g. `1_contract`.
    #[serde(default = "default_size_unit")]
    pub size_unit: String,
}

fn default_initial() -> String {
    "500ms".into()
}
fn default_max() -> String {
    "30s".into()
}
fn default_batch() -> usize {
    1000
}
fn default_wait() -> String {
    "200ms".into()
}
fn default_queue() -> usize {
    10_000
}
fn default_type() -> String {
    "future".into()
}
fn default_price_unit() -> String {
    "1_USD".into()
}
fn default_size_unit() -> String {
    "1_contract".into()
}
fn default_fields() -> Vec<String> {
    ["31", "7059", "84", "88", "86", "85"]
        .into_iter()
        .map(String::from)
        .collect()
}

pub use qdp_sdk::options::duration;
