//! Where each category field of the `eia` source comes from, in EIA's own
//! terms, for both modes: the data catalogue prints it so an analyst can
//! trace `release_field_value` back to the API's `value` or the WPSR cell.

use crate::rows::{NUMERIC, RELEASES};
use qdp_sdk::dictionary::FieldSource;

const SOURCE_SYSTEM: &str =
    "option `source_system`; default `eia_api_v2` (mode api_v2) or `eia_wpsr_csv` (mode wpsr_csv)";
const PUBLISHER: &str = "constant `EIA`";
const RELEASE_CODE: &str = "api_v2: the series' `release_code` option, else `EIA-` and its route or series id upper-cased with `/` and `.` as `-` (the default series: `EIA-WPSR`); wpsr_csv: constant `EIA-WPSR`";
const RELEASE_TIME_NOTE: &str = "the publication time the calendar gives for the period, not when qdp fetched it; New York time converted to UTC, ns";

/// The `eia` source's dictionary.
pub fn dictionary() -> Vec<FieldSource> {
    let n = |field: &str, from: &str| FieldSource::new(NUMERIC, field, from);
    let r = |field: &str, from: &str| FieldSource::new(RELEASES, field, from);
    vec![
        n("source_system_name", SOURCE_SYSTEM),
        n("publisher_code", PUBLISHER),
        n("release_code", RELEASE_CODE),
        n(
            "release_time",
            "api_v2: the row's `period` through the series' `release_calendar` (`eia_wpsr`: the WPSR release of that week ending, Wednesday 10:30 New York, later after a federal holiday, EIA's recorded dates for 2011-2017); a month, quarter or year, or a series without calendar, gives the period's first day 00:00 UTC; wpsr_csv: the week ending in the column header (`6/5/26`) through the `eia_wpsr` calendar",
        )
        .note(RELEASE_TIME_NOTE),
        n(
            "release_field",
            "api_v2: the row's `series` (or `seriesId`, `series-id`) as published, e.g. `WCESTUS1`; wpsr_csv: the EIA series id of the table 1 lines the API also carries (e.g. stocks `Commercial (Excluding SPR)` → `WCESTUS1`), else `<table>.<block>.<line label>` in lower snake case without the line number, e.g. `table1.crude_oil_supply.stock_change_build_draw`",
        )
        .note("wpsr_csv uses series ids where it can so the two modes compare line by line"),
        n(
            "release_field_value",
            "api_v2: the row's `value` (a JSON number or text such as `\"422,741\"`); wpsr_csv: the cell in the column headed by the block's latest date (this week) and in the column dated seven days earlier (last week, revised)",
        )
        .note("as published, no unit conversion, thousands separators dropped; not-available markers (null, `NA`, `.`, `--`, `W`, empty, the en-dash) are skipped, and unreadable values go to `numeric_economic_data_unqualified`"),
        n(
            "release_field_value_unit",
            "api_v2: the row's `units` (or `unit`) written `<amount>_<unit>`: `MBBL` → `1000_barrels`, `MBBL/D` → `1000_barrels_per_day`, `$/BBL` → `1_USD_per_barrel`, `$/MMBTU` → `1_USD_per_MMBtu`, `%` → `1_percent`, anything else `1_<unit as published>`; wpsr_csv: by block, `1000000_barrels` for stocks (one stub column) and `1000_barrels_per_day` for supply and disposition",
        )
        .note("names the published unit, never converts: WPSR stocks are million barrels where the API gives the same series in thousand barrels"),
        n(
            "reference_period",
            "api_v2: the row's `period` (`2024-10-04`, `2024-07`, `2024`); wpsr_csv: the column header's week ending as `YYYY-MM-DD`",
        ),
        r("source_system_name", SOURCE_SYSTEM),
        r("publisher_code", PUBLISHER),
        r("release_code", RELEASE_CODE),
        r(
            "release_frequency",
            "api_v2: the series' `frequency` option (`weekly` and `four-week-average` → `weekly`; `daily`, `monthly`, `quarterly`, `annual` as is; anything else `irregular`); wpsr_csv: constant `weekly`",
        ),
        r(
            "release_time",
            "one edition per period with at least one number (api_v2) or per block's current week ending (wpsr_csv), timed as `numeric_economic_data.release_time`",
        )
        .note(RELEASE_TIME_NOTE),
        r(
            "release_content",
            "a sentence qdp writes: `EIA Weekly Petroleum Status Report, week ending <period>` for `EIA-WPSR`, else `EIA release <code> (<route or series id>): <frequency> data for <period>`",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{api, wpsr};

    #[test]
    fn names_real_fields_once_and_covers_every_required_one() {
        assert_eq!(qdp_sdk::dictionary::check(&dictionary()), Ok(()));
        let cats: std::collections::BTreeSet<_> =
            dictionary().into_iter().map(|e| e.category).collect();
        assert_eq!(cats.len(), 2, "both categories the source fills: {cats:?}");
    }

    /// The constants the dictionary quotes are the ones the parsers write.
    #[test]
    fn quoted_constants_match_the_code() {
        let d = dictionary();
        let from = |c: &str, f: &str| {
            d.iter()
                .find(|e| e.category == c && e.field == f)
                .map(|e| e.from.clone())
                .unwrap()
        };
        assert!(from(NUMERIC, "publisher_code").contains(&format!("`{}`", api::PUBLISHER)));
        assert!(from(NUMERIC, "release_code").contains(&format!("`{}`", wpsr::RELEASE_CODE)));
        let unit = from(NUMERIC, "release_field_value_unit");
        for u in [wpsr::STOCKS_UNIT, wpsr::FLOWS_UNIT] {
            assert!(unit.contains(&format!("`{u}`")), "{u}");
        }
        for published in ["MBBL", "MBBL/D", "$/BBL", "$/MMBTU", "%"] {
            let ours = crate::values::unit(published);
            assert!(
                unit.contains(&format!("`{published}` → `{ours}`")),
                "{published}"
            );
        }
        let field = from(NUMERIC, "release_field");
        let key = wpsr::line_key(
            "table1",
            2,
            &[
                "Crude Oil Supply".into(),
                "(13) Stock Change (+/build; -/draw)".into(),
            ],
        );
        assert!(field.contains(&format!("`{}`", key.field)), "{}", key.field);
    }
}
