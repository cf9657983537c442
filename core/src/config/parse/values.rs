//! Typed reads of single values; a wrong type is an error at its position.

use super::Parser;
use crate::config::duration::parse_duration;
use crate::config::interpolate::interpolate;
use toml_edit::Table;
use toml_edit::{Item, Value};

impl Parser<'_> {
    pub(super) fn json(&mut self, item: &Item, key: &str) -> Option<serde_json::Value> {
        match item {
            Item::None => None,
            Item::Value(v) => self.value(v, key),
            Item::Table(t) => {
                let mut m = serde_json::Map::new();
                for (k, v) in t.iter() {
                    if let Some(j) = self.json(v, &join(key, k)) {
                        m.insert(k.to_string(), j);
                    }
                }
                Some(serde_json::Value::Object(m))
            }
            Item::ArrayOfTables(a) => Some(serde_json::Value::Array(
                a.iter()
                    .enumerate()
                    .filter_map(|(i, t)| self.json(&Item::Table(t.clone()), &format!("{key}[{i}]")))
                    .collect(),
            )),
        }
    }

    pub(super) fn value(&mut self, v: &Value, key: &str) -> Option<serde_json::Value> {
        use serde_json::Value as J;
        Some(match v {
            Value::String(s) => match interpolate(s.value(), self.env) {
                Ok(s) => J::String(s),
                Err(e) => {
                    let l = self.loc(v.span());
                    self.error(
                        l,
                        key,
                        e,
                        "set the variable, or fix the reference (`${NAME}` or `${file:PATH}`)",
                    );
                    return None;
                }
            },
            Value::Integer(i) => J::from(*i.value()),
            Value::Float(f) => serde_json::Number::from_f64(*f.value()).map_or(J::Null, J::Number),
            Value::Boolean(b) => J::Bool(*b.value()),
            Value::Datetime(d) => J::String(d.value().to_string()),
            Value::Array(a) => J::Array(
                a.iter()
                    .enumerate()
                    .filter_map(|(i, x)| self.value(x, &format!("{key}[{i}]")))
                    .collect(),
            ),
            Value::InlineTable(t) => {
                let mut m = serde_json::Map::new();
                for (k, x) in t.iter() {
                    if let Some(j) = self.value(x, &join(key, k)) {
                        m.insert(k.to_string(), j);
                    }
                }
                J::Object(m)
            }
        })
    }

    /// A sub-table, written either as `[a.b]` or inline as `b = { ... }`.
    pub(super) fn table<'t>(
        &mut self,
        parent: &'t Table,
        key: &str,
        prefix: &str,
    ) -> Option<std::borrow::Cow<'t, Table>> {
        let item = parent.get(key)?;
        if let Some(t) = item.as_table() {
            return Some(std::borrow::Cow::Borrowed(t));
        }
        if let Some(t) = item.as_inline_table() {
            return Some(std::borrow::Cow::Owned(t.clone().into_table()));
        }
        let loc = self.key_loc(parent, key);
        self.error(
            loc,
            join(prefix, key),
            "must be a table",
            format!(
                "write it as [{}] or as an inline table {{ ... }}",
                join(prefix, key)
            ),
        );
        None
    }

    pub(super) fn string(&mut self, t: &Table, key: &str, prefix: &str) -> Option<String> {
        let v = self.json(t.get(key)?, &join(prefix, key))?;
        match v {
            serde_json::Value::String(s) => Some(s),
            _ => {
                let loc = self.key_loc(t, key);
                self.error(
                    loc,
                    join(prefix, key),
                    "must be a string",
                    "quote the value",
                );
                None
            }
        }
    }

    pub(super) fn strings(&mut self, t: &Table, key: &str, prefix: &str) -> Option<Vec<String>> {
        let v = self.json(t.get(key)?, &join(prefix, key))?;
        match v.as_array().map(|a| {
            a.iter()
                .map(|x| x.as_str().map(String::from))
                .collect::<Option<Vec<_>>>()
        }) {
            Some(Some(list)) => Some(list),
            _ => {
                let loc = self.key_loc(t, key);
                self.error(
                    loc,
                    join(prefix, key),
                    "must be an array of strings",
                    "write [\"a\", \"b\"]",
                );
                None
            }
        }
    }

    pub(super) fn integer(&mut self, t: &Table, key: &str, prefix: &str) -> Option<i64> {
        let item = t.get(key)?;
        match item.as_integer() {
            Some(i) => Some(i),
            None => {
                let loc = self.key_loc(t, key);
                self.error(
                    loc,
                    join(prefix, key),
                    "must be an integer",
                    "write a whole number without quotes",
                );
                None
            }
        }
    }

    pub(super) fn positive(&mut self, t: &Table, key: &str, prefix: &str) -> Option<usize> {
        let i = self.integer(t, key, prefix)?;
        match usize::try_from(i) {
            Ok(n) if n > 0 => Some(n),
            _ => {
                let loc = self.key_loc(t, key);
                self.error(
                    loc,
                    join(prefix, key),
                    format!("must be at least 1, got {i}"),
                    "use a positive number",
                );
                None
            }
        }
    }

    pub(super) fn duration(
        &mut self,
        t: &Table,
        key: &str,
        prefix: &str,
    ) -> Option<std::time::Duration> {
        let s = self.string(t, key, prefix)?;
        match parse_duration(&s) {
            Ok(d) => Some(d),
            Err(e) => {
                let loc = self.key_loc(t, key);
                self.error(
                    loc,
                    join(prefix, key),
                    e,
                    "write a duration such as \"500ms\" or \"30s\"",
                );
                None
            }
        }
    }
}

pub(super) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}
