//! Options of the `market_sim` source.

use serde::Deserialize;

/// A window of virtual time in which the arrival rate is multiplied.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Burst {
    /// Start, in seconds of virtual time since the first tick.
    pub start_s: f64,
    /// Length in seconds.
    pub duration_s: f64,
    /// Rate multiplier, e.g. 10 for a ×10 burst.
    pub multiplier: f64,
}

/// Options of `market_sim`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimOptions {
    /// Seed of the generator: the same seed gives the same ticks.
    #[serde(default)]
    pub seed: u64,
    /// Mean arrival rate in ticks per second (Poisson); 0 = as fast as possible.
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// Rate bursts.
    #[serde(default)]
    pub bursts: Vec<Burst>,
    /// Ticks per batch.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Stop after this many ticks (the source then ends).
    pub max_ticks: Option<u64>,
    /// Roots to simulate (default: CL, NG, HO, RB, BZ, ES).
    #[serde(default)]
    pub symbols: Vec<String>,
    /// Contract month as YYYY-MM (default: the month after `start_time`).
    pub contract_month: Option<String>,
    /// Time of the first tick, RFC 3339 (default: wall clock at the first start).
    pub start_time: Option<String>,
    /// Fraction of ticks deliberately malformed (negative size, unknown
    /// instrument type, empty symbol), to exercise reject paths.
    #[serde(default)]
    pub invalid_ratio: f64,
}

fn default_rate() -> f64 {
    10_000.0
}

fn default_batch() -> usize {
    1000
}
