//! Where the tick and top-of-book fields of the `ibkr_cpapi` preset come
//! from: which Interactive Brokers field code, or which instrument option.
//!
//! The source emits raw rows (`raw_ibkr_cpapi_ticks`, `raw_ibkr_cpapi_quotes`)
//! whose columns already carry the category field names, and a `map`
//! transform in the pipeline puts them into `derivatives_tick_market_data`
//! and `derivatives_l2_market_data`, converting `updated_ms`; the entries
//! say where the pipeline's part begins. IBKR field 6509 (availability) is
//! kept in the raw ticks only. The `generic` preset reads whatever the
//! pipeline's `generic.columns` pointers name, so it has no fixed dictionary
//! and nothing here describes it.

use crate::decode::{IBKR_QUOTES, IBKR_TICKS};
use qdp_sdk::dictionary::FieldSource;

const TICK: &str = "derivatives_tick_market_data";
const L2: &str = "derivatives_l2_market_data";

const SOURCE_SYSTEM: &str =
    "option `source_system`; default `ibkr_cpapi` (the generic preset: `websocket`)";
const EXCHANGE: &str =
    "ibkr_cpapi: option `ibkr.instruments.<conid>.exchange` of the frame's conid";
const SYMBOL: &str = "ibkr_cpapi: option `ibkr.instruments.<conid>.symbol` of the frame's conid (its `conid` field, else the `smd+<conid>` topic)";
const SYMBOL_TYPE: &str =
    "ibkr_cpapi: option `ibkr.instruments.<conid>.symbol_type` (default `future`)";
const PRICE_UNIT: &str =
    "ibkr_cpapi: option `ibkr.instruments.<conid>.price_unit` (default `1_USD`)";
const SIZE_UNIT: &str =
    "ibkr_cpapi: option `ibkr.instruments.<conid>.size_unit` (default `1_contract`)";
const UPDATED: &str =
    "ibkr_cpapi: the frame's `_updated` (epoch milliseconds), raw column `updated_ms`";
const NUMBER_NOTE: &str = "thousands separators dropped and `K`/`M`/`B` multiplied out (`12.2M`); a `<code>_raw` field, when sent, wins";

fn copied(raw: &str) -> String {
    format!("copied from the same-named column of `{raw}` by the pipeline's `map`")
}

fn epoch_ms(field: &str) -> String {
    format!(
        "ms epoch → ns by the pipeline's `map` (`{field} = {{ from = \"updated_ms\", epoch = \"ms\" }}`)"
    )
}

/// The `websocket` source's dictionary (the `ibkr_cpapi` preset).
pub fn dictionary() -> Vec<FieldSource> {
    let t = |field: &str, from: &str| FieldSource::new(TICK, field, from);
    let q = |field: &str, from: &str| FieldSource::new(L2, field, from);
    vec![
        t("source_system_name", SOURCE_SYSTEM),
        t("exchange_code", EXCHANGE).note(copied(IBKR_TICKS)),
        t("symbol_code", SYMBOL).note(copied(IBKR_TICKS)),
        t("symbol_type", SYMBOL_TYPE).note(copied(IBKR_TICKS)),
        t("price", "ibkr_cpapi: IBKR field `31` (last price)").note(format!(
            "a `C` (previous close) or `H` (halted) prefix is not a trade and gives no row; {NUMBER_NOTE}"
        )),
        t("price_unit", PRICE_UNIT).note(copied(IBKR_TICKS)),
        t("size", "ibkr_cpapi: IBKR field `7059` (last size)").note(format!(
            "{NUMBER_NOTE}; a trade frame without 7059 has a null size, which the `map` sends to unqualified"
        )),
        t("size_unit", SIZE_UNIT).note(copied(IBKR_TICKS)),
        t("tick_time", UPDATED).note(epoch_ms("tick_time")),
        q("source_system_name", SOURCE_SYSTEM),
        q("exchange_code", EXCHANGE).note(copied(IBKR_QUOTES)),
        q("symbol_code", SYMBOL).note(copied(IBKR_QUOTES)),
        q("symbol_type", SYMBOL_TYPE).note(copied(IBKR_QUOTES)),
        q(
            "price",
            "ibkr_cpapi: IBKR field `84` (bid) on the `bid` row, `86` (ask) on the `ask` row",
        )
        .note(format!(
            "frames carry only what changed, so each row is the book completed from earlier frames of the conid; {NUMBER_NOTE}"
        )),
        q("price_unit", PRICE_UNIT).note(copied(IBKR_QUOTES)),
        q(
            "size",
            "ibkr_cpapi: IBKR field `88` (bid size) on the `bid` row, `85` (ask size) on the `ask` row",
        )
        .note(NUMBER_NOTE),
        q("size_unit", SIZE_UNIT).note(copied(IBKR_QUOTES)),
        q(
            "side",
            "ibkr_cpapi: `bid` for the pair 84/88, `ask` for the pair 86/85",
        ),
        q(
            "level",
            "ibkr_cpapi: constant `1`: the preset reads the top of the book",
        ),
        q(
            "max_level",
            "not in the feed: the preset reads the top of the book only, so `1`",
        )
        .note("set by the pipeline's `map` (`max_level = { value = \"1\" }`); the raw rows have no such column"),
        q("l2_time", UPDATED).note(epoch_ms("l2_time")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Decoder, IbkrDecoder};

    #[test]
    fn names_real_fields_once_and_covers_every_required_one() {
        assert_eq!(qdp_sdk::dictionary::check(&dictionary()), Ok(()));
    }

    /// Every field the dictionary says is copied by name is a column of the
    /// raw table it names.
    #[test]
    fn copied_fields_are_columns_of_the_raw_tables() {
        let ib: crate::config::Ibkr = serde_json::from_value(serde_json::json!({
            "instruments": {"1": {"symbol": "ESH3", "exchange": "CME"}}
        }))
        .unwrap();
        let tables = IbkrDecoder::new(&ib).tables();
        let mut checked = 0;
        for e in dictionary() {
            let Some(note) = &e.note else { continue };
            for t in &tables {
                if note.contains(&format!("`{}`", t.category)) {
                    assert!(
                        t.schema.field_with_name(&e.field).is_ok(),
                        "{}.{} is not a column of {}",
                        e.category,
                        e.field,
                        t.category
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 10);
        for t in &tables[..2] {
            assert!(t.schema.field_with_name("updated_ms").is_ok());
        }
    }
}
