//! The three report families this source reads (futures only).

use crate::fields::{Field, disaggregated, legacy, tff};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Commitments of Traders report family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Disaggregated (producer/merchant, swap dealers, managed money, other).
    Disaggregated,
    /// Legacy (commercial, non-commercial).
    Legacy,
    /// Traders in Financial Futures (dealer, asset manager, leveraged money, other).
    Tff,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 3] = [Family::Disaggregated, Family::Legacy, Family::Tff];

    /// `release_code` of its rows.
    pub fn release_code(self) -> &'static str {
        match self {
            Family::Disaggregated => "CFTC-COT-DISAGG",
            Family::Legacy => "CFTC-COT-LEGACY",
            Family::Tff => "CFTC-COT-TFF",
        }
    }

    /// The name used in config and checkpoints.
    pub fn name(self) -> &'static str {
        match self {
            Family::Disaggregated => "disaggregated",
            Family::Legacy => "legacy",
            Family::Tff => "tff",
        }
    }

    /// Words for `release_content`.
    pub fn title(self) -> &'static str {
        match self {
            Family::Disaggregated => "Disaggregated Futures-Only",
            Family::Legacy => "Legacy Futures-Only",
            Family::Tff => "Traders in Financial Futures, Futures-Only",
        }
    }

    /// Its Socrata dataset on publicreporting.cftc.gov (futures only).
    pub fn default_dataset(self) -> &'static str {
        match self {
            Family::Disaggregated => "72hh-3qpy",
            Family::Legacy => "6dca-aqww",
            Family::Tff => "gpe5-46if",
        }
    }

    /// Its measure columns.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Family::Disaggregated => disaggregated::FIELDS,
            Family::Legacy => legacy::FIELDS,
            Family::Tff => tff::FIELDS,
        }
    }
}
