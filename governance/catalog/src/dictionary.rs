//! The source → category field dictionary: for every category field a
//! connector or a `map` transform fills, where the value comes from.
//! Connectors declare theirs (`ComponentType.dictionary`); a `map`'s is
//! implied by its `fields` rules.

use qdp_core::transforms::map::{FieldRule, MapOptions};
use qdp_sdk::dictionary::FieldSource;
use qdp_sdk::schema::registry;

/// The dictionary a `map` transform with `options` implies, or an error
/// naming what is wrong with them.
pub fn of_map(options: &serde_json::Value) -> Result<Vec<FieldSource>, String> {
    let o: MapOptions = serde_json::from_value(options.clone()).map_err(|e| e.to_string())?;
    let schema = registry()
        .get(&o.category)
        .ok_or_else(|| format!("unknown category `{}`", o.category))?;
    Ok(schema
        .fields
        .iter()
        .map(|f| {
            let e = |from: String| FieldSource::new(&schema.name, &f.name, from);
            match o.fields.get(&f.name) {
                Some(rule) => from_rule(rule, e),
                None => match f.name.as_str() {
                    "source_system_name" => match &o.source_system {
                        Some(s) => e(format!("constant `{s}`")).note("`source_system` of the map"),
                        None => e("filled by qdp".into()).note("the source's system name"),
                    },
                    "component_instance_name" => {
                        e("filled by qdp".into()).note("the id of the map transform")
                    }
                    "ingestion_time" => {
                        e("filled by qdp".into()).note("when qdp received the row, UTC")
                    }
                    name => e(format!("column `{name}`")).note("same-named source column"),
                },
            }
        })
        .collect())
}

fn from_rule(r: &FieldRule, e: impl Fn(String) -> FieldSource) -> FieldSource {
    let base = match (&r.from, &r.value) {
        (Some(c), _) => e(format!("column `{c}`")),
        (None, Some(v)) => e(format!("constant `{v}`")),
        (None, None) => e("(no `from` or `value`)".into()),
    };
    let mut notes = Vec::new();
    if let Some(u) = r.epoch.map(|u| format!("{u:?}").to_ascii_lowercase()) {
        notes.push(format!("integer epoch in {u} → UTC timestamp"));
    }
    if let Some(f) = &r.format {
        notes.push(format!("text parsed with format `{f}`"));
    }
    if let Some(tz) = &r.timezone {
        notes.push(format!("local time in {tz} → UTC"));
    }
    if notes.is_empty() {
        base
    } else {
        base.note(notes.join("; "))
    }
}

/// The source columns a `map` reads for each category field it fills from a column.
pub fn map_columns(options: &serde_json::Value) -> Vec<(String, String)> {
    of_map(options)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|d| {
            let col = d
                .from
                .strip_prefix("column `")?
                .strip_suffix('`')?
                .to_string();
            Some((col, d.field))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn map_rules_become_dictionary_lines() {
        let d = of_map(&json!({
            "category": "derivatives_tick_market_data",
            "fields": {
                "symbol_code": { "from": "symbol" },
                "tick_time": { "from": "ts_event_ns", "epoch": "ns" },
                "price_unit": { "value": "1_USD" },
            }
        }))
        .unwrap();
        let line = |f: &str| d.iter().find(|x| x.field == f).unwrap();
        assert_eq!(line("symbol_code").from, "column `symbol`");
        assert_eq!(line("tick_time").from, "column `ts_event_ns`");
        assert!(
            line("tick_time")
                .note
                .as_deref()
                .unwrap()
                .contains("epoch in ns")
        );
        assert_eq!(line("price_unit").from, "constant `1_USD`");
        assert_eq!(line("size").from, "column `size`");
        assert_eq!(line("ingestion_time").from, "filled by qdp");
        assert_eq!(line("source_system_name").from, "filled by qdp");
        let schema = registry().get("derivatives_tick_market_data").unwrap();
        assert_eq!(d.len(), schema.fields.len());
        let cols = map_columns(
            &json!({"category": "client_accounts", "fields": {"contact_email": {"from": "email"}}}),
        );
        assert!(cols.contains(&("email".into(), "contact_email".into())));
        assert!(cols.contains(&("client_code".into(), "client_code".into())));
        assert!(of_map(&json!({"category": "nope"})).is_err());
    }
}
