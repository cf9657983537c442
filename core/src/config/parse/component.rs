//! One component table: `type`, `inputs`, `batch`, `restart` and the
//! plugin's own options.

use super::Parser;
use super::RESERVED;
use super::schedule::SCHEDULE_KEYS;
use crate::config::model::*;
use toml_edit::{Item, Table, Value};

impl Parser<'_> {
    pub(super) fn component(
        &mut self,
        kind: Kind,
        id: &str,
        item: &Item,
        parent: &Table,
    ) -> Option<ComponentConfig> {
        let section = section_of(kind);
        let key = format!("{section}.{id}");
        let table = match item {
            Item::Table(t) => t.clone(),
            Item::Value(Value::InlineTable(t)) => t.clone().into_table(),
            _ => return None,
        };
        let loc = self.key_loc(parent, id);
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            self.error(
                loc.clone(),
                key.clone(),
                "component ids may only use letters, digits, `_` and `-`",
                "rename the table",
            );
        }
        let type_loc = self.key_loc(&table, "type");
        let type_name = match self.string(&table, "type", &key) {
            Some(t) => t,
            None => {
                if !table.contains_key("type") {
                    self.error(
                        loc.clone(),
                        format!("{key}.type"),
                        "missing `type`",
                        "name the component type, e.g. type = \"file\" (see `qdp plugins list`)",
                    );
                }
                String::new()
            }
        };
        let mut inputs = Vec::new();
        if let Some(item) = table.get("inputs") {
            let ikey = format!("{key}.inputs");
            if kind == Kind::Source {
                let l = self.key_loc(&table, "inputs");
                self.error(l, ikey.clone(), "sources take no inputs", "remove `inputs`");
            }
            match item.as_array() {
                Some(arr) => {
                    for v in arr.iter() {
                        let l = self.loc(v.span());
                        match v.as_str() {
                            Some(s) => inputs.push((InputRef::parse(s), l)),
                            None => self.error(
                                l,
                                ikey.clone(),
                                "inputs must be strings",
                                "write inputs = [\"id\", \"id.port\"]",
                            ),
                        }
                    }
                }
                None => {
                    let l = self.key_loc(&table, "inputs");
                    self.error(
                        l,
                        ikey,
                        "`inputs` must be an array of strings",
                        "write inputs = [\"id\"]",
                    );
                }
            }
        } else if kind != Kind::Source {
            self.error(
                loc.clone(),
                format!("{key}.inputs"),
                "missing `inputs`",
                "list the components that feed it, e.g. inputs = [\"sim\"]",
            );
        }
        let mut batch = BatchPolicy::default();
        if let Some(t) = self.table(&table, "batch", &key) {
            let t = &*t;
            let bkey = format!("{key}.batch");
            self.unknown_keys(t, &bkey, &["max_rows", "max_bytes", "max_wait"]);
            if let Some(n) = self.positive(t, "max_rows", &bkey) {
                batch.max_rows = n;
            }
            if let Some(n) = self.positive(t, "max_bytes", &bkey) {
                batch.max_bytes = n;
            }
            if let Some(d) = self.duration(t, "max_wait", &bkey) {
                batch.max_wait = d;
            }
        }
        let mut restart = RestartPolicy::default();
        if let Some(t) = self.table(&table, "restart", &key) {
            let t = &*t;
            let rkey = format!("{key}.restart");
            self.unknown_keys(
                t,
                &rkey,
                &["max_restarts", "backoff_initial", "backoff_max"],
            );
            if let Some(n) = self.integer(t, "max_restarts", &rkey) {
                restart.max_restarts = u32::try_from(n).unwrap_or(u32::MAX);
            }
            if let Some(d) = self.duration(t, "backoff_initial", &rkey) {
                restart.backoff_initial = d;
            }
            if let Some(d) = self.duration(t, "backoff_max", &rkey) {
                restart.backoff_max = d;
            }
        }
        let buffer = self.buffer(&table, &key, kind);
        let parallelism = self.parallelism(&table, &key, kind);
        let schedule = self.schedule(&table, &key, kind);
        let mut options = serde_json::Map::new();
        let mut option_locs = std::collections::BTreeMap::new();
        for (k, v) in table.iter() {
            if RESERVED.contains(&k) || (kind == Kind::Source && SCHEDULE_KEYS.contains(&k)) {
                continue;
            }
            option_locs.insert(k.to_string(), self.key_loc(&table, k));
            let okey = format!("{key}.{k}");
            if let Some(j) = self.json(v, &okey) {
                options.insert(k.to_string(), j);
            }
        }
        Some(ComponentConfig {
            id: id.to_string(),
            kind,
            type_name,
            loc,
            type_loc,
            inputs,
            options: serde_json::Value::Object(options),
            option_locs,
            batch,
            restart,
            buffer,
            parallelism,
            schedule,
        })
    }
}
