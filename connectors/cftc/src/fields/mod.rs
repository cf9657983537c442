//! The field tables: every measure column of every report family mapped
//! onto one canonical name, so `067651.open_interest_all` means the same
//! thing whether it came from a `.txt` file or the Socrata API.
//!
//! The publisher spells one measure several ways: the legacy `.txt` uses
//! spaced names (`Noncommercial Positions-Spreading (All)`, one with a
//! leading space), the disaggregated and TFF files underscore names with
//! typos (`Swap__Positions_Short_All`), and Socrata lower-snake names with
//! other typos (`noncomm_postions_spread_all`) and `_1`/`_2` for old/other.
//! The tables in [`legacy`], [`disaggregated`] and [`tff`] list each column
//! as published; matching trims and normalises headers first.

pub mod disaggregated;
pub mod legacy;
pub mod tff;

use crate::family::Family;

/// What a measure counts, which decides `release_field_value_unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Positions, open interest and their changes.
    Contracts,
    /// Trader counts.
    Traders,
    /// `pct_of_*` and concentration (`conc_*`) columns.
    Percent,
}

impl Unit {
    /// The `<amount>_<unit>` text of the category schema.
    pub fn text(self) -> &'static str {
        match self {
            Unit::Contracts => "1_contracts",
            Unit::Traders => "1_traders",
            Unit::Percent => "1_percent",
        }
    }
}

/// One measure column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The one name used in `release_field`.
    pub canonical: &'static str,
    /// The `.txt` header as the publisher writes it.
    pub header: &'static str,
    /// The Socrata field as published, where it is known to differ from
    /// what [`socrata_candidates`] derives.
    pub socrata: Option<&'static str>,
    /// What it counts.
    pub unit: Unit,
}

/// What a column of a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The report date (`YYYY-MM-DD`, or Socrata's `YYYY-MM-DDT00:00:00.000`).
    ReportDate,
    /// `CFTC_Contract_Market_Code`: the key, never the name.
    ContractCode,
    /// `Market_and_Exchange_Names`, used for the "Consolidated" tolerance only.
    MarketName,
    /// Descriptive columns that are not measures (codes, units, ids).
    Metadata,
    /// A measure.
    Measure(Field),
    /// A column no table knows: its values go to `unqualified`.
    Unknown,
}

/// Lower case, every run of characters other than letters and digits one
/// `_`, no `_` at either end: `" Total Reportable Positions-Long (All)"`
/// and `Swap__Positions_Short_All` become comparable keys.
pub fn normalize(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    for c in header.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// Normalised names of the columns that are not measures, in every spelling
/// the files and Socrata use.
const METADATA: &[&str] = &[
    "as_of_date_in_form_yymmdd",
    "cftc_market_code",
    "cftc_market_code_in_initials",
    "cftc_region_code",
    "cftc_commodity_code",
    "contract_units",
    "cftc_contract_market_code_quotes",
    "cftc_market_code_quotes",
    "cftc_market_code_in_initials_quotes",
    "cftc_commodity_code_quotes",
    "cftc_subgroup_code",
    "futonly_or_combined",
    "id",
    "yyyy_report_week_ww",
    "contract_market_name",
    "commodity_name",
    "commodity",
    "commodity_subgroup_name",
    "commodity_group_name",
];

/// The role of a `.txt` header or Socrata field in `family`.
pub fn role(family: Family, column: &str) -> Role {
    let key = normalize(column);
    match key.as_str() {
        "report_date_as_yyyy_mm_dd" | "as_of_date_in_form_yyyy_mm_dd" => {
            return Role::ReportDate;
        }
        "cftc_contract_market_code" => return Role::ContractCode,
        "market_and_exchange_names" => return Role::MarketName,
        k if METADATA.contains(&k) => return Role::Metadata,
        _ => {}
    }
    let fields = family.fields();
    if let Some(f) = fields.iter().find(|f| f.socrata == Some(column.trim())) {
        return Role::Measure(*f);
    }
    if let Some(f) = fields.iter().find(|f| normalize(f.header) == key) {
        return Role::Measure(*f);
    }
    for candidate in socrata_candidates(&key) {
        if let Some(f) = fields.iter().find(|f| f.canonical == candidate) {
            return Role::Measure(*f);
        }
    }
    Role::Unknown
}

/// Canonical names a Socrata field may stand for, most likely first:
/// itself with the publisher's typos fixed; `_1` read as `_old` and `_2` as
/// `_other`; a name with no period suffix read as `_all`. Exceptions to
/// these rules are written in the tables' `socrata` column and win.
pub fn socrata_candidates(key: &str) -> Vec<String> {
    let fixed = key
        .replace("postions", "positions")
        .replace("spead", "spread");
    let mut out = vec![fixed.clone()];
    if let Some(base) = fixed.strip_suffix("_1") {
        out.push(format!("{base}_old"));
    } else if let Some(base) = fixed.strip_suffix("_2") {
        out.push(format!("{base}_other"));
    } else if !(fixed.ends_with("_all") || fixed.ends_with("_old") || fixed.ends_with("_other")) {
        out.push(format!("{fixed}_all"));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_table_has_unique_names_and_keys() {
        for family in Family::ALL {
            let fields = family.fields();
            let canon: HashSet<_> = fields.iter().map(|f| f.canonical).collect();
            let keys: HashSet<_> = fields.iter().map(|f| normalize(f.header)).collect();
            assert_eq!(canon.len(), fields.len(), "{family:?}");
            assert_eq!(keys.len(), fields.len(), "{family:?}");
            for f in fields {
                assert_eq!(role(family, f.header), Role::Measure(*f), "{}", f.header);
                assert_eq!(
                    role(family, f.canonical),
                    Role::Measure(*f),
                    "{}",
                    f.canonical
                );
            }
        }
    }

    #[test]
    fn header_variants_meet_on_one_name() {
        let canon = |family, h| match role(family, h) {
            Role::Measure(f) => f.canonical,
            other => panic!("{h}: {other:?}"),
        };
        assert_eq!(
            canon(Family::Legacy, " Total Reportable Positions-Long (All)"),
            "tot_rept_positions_long_all"
        );
        assert_eq!(
            canon(Family::Legacy, "noncomm_postions_spread_all"),
            "noncomm_positions_spread_all"
        );
        assert_eq!(
            canon(Family::Legacy, "noncomm_positions_spread"),
            "noncomm_positions_spread_old"
        );
        assert_eq!(
            canon(Family::Disaggregated, "Swap__Positions_Short_All"),
            "swap_positions_short_all"
        );
        assert_eq!(
            canon(Family::Disaggregated, "prod_merc_positions_long"),
            "prod_merc_positions_long_all"
        );
        assert_eq!(
            canon(Family::Disaggregated, "m_money_positions_spread_1"),
            "m_money_positions_spread_old"
        );
        assert_eq!(unit_of(Family::Tff, "Traders_Tot_All"), Unit::Traders);
        assert_eq!(
            unit_of(Family::Tff, "Pct_of_OI_Dealer_Long_All"),
            Unit::Percent
        );
        assert_eq!(
            unit_of(Family::Legacy, "Concentration-Gross LT =4 TDR-Short(Other)"),
            Unit::Percent
        );
        assert_eq!(
            role(Family::Legacy, "Report_Date_as_YYYY-MM-DD"),
            Role::ReportDate
        );
        assert_eq!(
            role(Family::Legacy, "As of Date in Form YYYY-MM-DD"),
            Role::ReportDate
        );
        assert_eq!(
            role(Family::Tff, "Dealer_Positions_Lnog_All"),
            Role::Unknown
        );
    }

    fn unit_of(family: Family, h: &str) -> Unit {
        match role(family, h) {
            Role::Measure(f) => f.unit,
            other => panic!("{h}: {other:?}"),
        }
    }

    /// Every field of the real legacy Socrata dataset (jun7-fc8e, field
    /// list recorded from the API's own headers) is known, and the 118
    /// measures land on 118 different canonical names.
    #[test]
    fn every_real_legacy_socrata_field_is_known() {
        let text = std::fs::read_to_string(qdp_test_services::real_data(
            "cftc/socrata/socrata_legacy_combined_jun7-fc8e_SODA2_fields_types.json",
        ))
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut seen = HashSet::new();
        for name in v["fields"].as_array().unwrap() {
            let name = name.as_str().unwrap();
            match role(Family::Legacy, name) {
                Role::Unknown => panic!("unknown Socrata field {name}"),
                Role::Measure(f) => assert!(seen.insert(f.canonical), "{name} twice"),
                _ => {}
            }
        }
        assert_eq!(seen.len(), legacy::FIELDS.len());
    }
}
