//! Where each category field of the `cftc` source comes from, for the
//! yearly `.txt` files and the Socrata API alike: the data catalogue prints
//! it so an analyst can trace `067651.open_interest_all` back to the
//! publisher's `Open Interest (All)` column.

use crate::tables::{NUMERIC, RELEASES};
use qdp_sdk::dictionary::FieldSource;

const SOURCE_SYSTEM: &str = "constant by transport: `cftc_cot_files` (yearly zipped `.txt` files) or `cftc_socrata` (Socrata API)";
const PUBLISHER: &str = "constant `CFTC`";
const RELEASE_CODE: &str =
    "the report family: `CFTC-COT-DISAGG`, `CFTC-COT-LEGACY` or `CFTC-COT-TFF`";
const RELEASE_TIME: &str = "the report date (`.txt` `Report_Date_as_YYYY-MM-DD` or `As of Date in Form YYYY-MM-DD`, Socrata `report_date_as_yyyy_mm_dd`) through the `cftc_cot` calendar: the Friday after the Tuesday report date, 15:30 New York, or the next business day when a federal holiday falls in that week";
const RELEASE_TIME_NOTE: &str =
    "scheduled publication, not when qdp fetched it; New York time converted to UTC, ns";

/// The `cftc` source's dictionary.
pub fn dictionary() -> Vec<FieldSource> {
    let n = |field: &str, from: &str| FieldSource::new(NUMERIC, field, from);
    let r = |field: &str, from: &str| FieldSource::new(RELEASES, field, from);
    vec![
        n("source_system_name", SOURCE_SYSTEM),
        n("publisher_code", PUBLISHER),
        n("release_code", RELEASE_CODE),
        n("release_time", RELEASE_TIME).note(RELEASE_TIME_NOTE),
        n(
            "release_field",
            "`<contract>.<measure>`, e.g. `067651.open_interest_all`: `CFTC_Contract_Market_Code` (trimmed, upper-cased, leading zeros kept) and the canonical name of the measure column: Socrata's field name with its typos fixed and `_1`/`_2` read as `_old`/`_other`, which the `.txt` headers map onto too (`Open Interest (All)`, Socrata `open_interest_all` → `open_interest_all`; Socrata `noncomm_postions_spread_all` → `noncomm_positions_spread_all`; `Swap__Positions_Short_All` → `swap_positions_short_all`)",
        )
        .note("keyed by the contract code, never `Market_and_Exchange_Names`, which the publisher renames; one name per measure and family whichever transport it came from"),
        n("release_field_value", "the measure column's cell")
            .note("as published, no conversion; `.`, empty and Socrata null mean not published and are skipped; a value that is not a number, or a whole row whose open interest is not total reportable long + non-reportable long (±1 for consolidated markets), goes to `cftc_cot_unqualified`"),
        n(
            "release_field_value_unit",
            "what the measure counts: positions, open interest and their changes `1_contracts`; trader counts (`traders_*`) `1_traders`; `pct_of_*` and concentration (`conc_*`) columns `1_percent`",
        ),
        n(
            "reference_period",
            "the report date as `YYYY-MM-DD` (a Tuesday: positions as of that day)",
        ),
        r("source_system_name", SOURCE_SYSTEM),
        r("publisher_code", PUBLISHER),
        r("release_code", RELEASE_CODE),
        r("release_frequency", "constant `weekly`"),
        r(
            "release_time",
            "one edition per report date read in the pass, timed as `numeric_economic_data.release_time`",
        )
        .note(RELEASE_TIME_NOTE),
        r(
            "release_content",
            "a sentence qdp writes: `CFTC Commitments of Traders, <family title> report: positions as of <weekday> <report date>.`",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::Family;
    use crate::fields::{Role, Unit, role};

    #[test]
    fn names_real_fields_once_and_covers_every_required_one() {
        assert_eq!(qdp_sdk::dictionary::check(&dictionary()), Ok(()));
    }

    /// The names and units the dictionary quotes are the ones the code uses.
    #[test]
    fn quoted_names_match_the_code() {
        let d = dictionary();
        let from = |c: &str, f: &str| {
            d.iter()
                .find(|e| e.category == c && e.field == f)
                .map(|e| e.from.clone())
                .unwrap_or_default()
        };
        let codes = from(NUMERIC, "release_code");
        for f in Family::ALL {
            assert!(codes.contains(&format!("`{}`", f.release_code())), "{f:?}");
        }
        let systems = from(NUMERIC, "source_system_name");
        for s in [crate::FILES_SYSTEM, crate::SOCRATA_SYSTEM] {
            assert!(systems.contains(&format!("`{s}`")), "{s}");
        }
        let units = from(NUMERIC, "release_field_value_unit");
        for u in [Unit::Contracts, Unit::Traders, Unit::Percent] {
            assert!(units.contains(&format!("`{}`", u.text())), "{u:?}");
        }
        let canonical = |family, column| match role(family, column) {
            Role::Measure(f) => f.canonical,
            other => panic!("{column}: {other:?}"),
        };
        let field = from(NUMERIC, "release_field");
        for (family, column) in [
            (Family::Legacy, "Open Interest (All)"),
            (Family::Legacy, "noncomm_postions_spread_all"),
            (Family::Disaggregated, "Swap__Positions_Short_All"),
        ] {
            let c = canonical(family, column);
            assert!(field.contains(&format!("`{column}`")), "{column}");
            assert!(field.contains(&format!("`{c}`")), "{c}");
        }
    }
}
