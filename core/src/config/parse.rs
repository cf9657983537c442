//! Parsing a pipeline TOML file into [`PipelineConfig`], keeping positions so
//! every error can name its line.

use super::duration::parse_duration;
use super::error::{ConfigError, ConfigErrors, Loc, closest};
use super::interpolate::interpolate;
use super::model::*;
use super::size::parse_size;
use std::path::{Path, PathBuf};
use toml_edit::{Item, Table, Value};

const TOP_KEYS: &[&str] = &["pipeline", "admin", "log", "sources", "transforms", "sinks"];
const PIPELINE_KEYS: &[&str] = &[
    "name",
    "data_dir",
    "plugin_path",
    "shutdown_timeout",
    "channel_capacity",
];
const RESERVED: &[&str] = &[
    "type",
    "inputs",
    "batch",
    "restart",
    "buffer",
    "parallelism",
];

struct Parser<'a> {
    file: &'a Path,
    text: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<ConfigError>,
}

/// Parses `text` (the content of `file`), resolving `${...}` with `env`.
pub fn parse_pipeline(
    file: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<PipelineConfig, ConfigErrors> {
    let doc = toml_edit::Document::parse(text).map_err(|e| {
        let loc = e
            .span()
            .map(|s| Loc::at(file, text, s.start))
            .unwrap_or_else(|| Loc::at(file, text, 0));
        ConfigErrors(vec![ConfigError {
            loc,
            key: "(syntax)".into(),
            message: e.message().trim().to_string(),
            fix: "correct the TOML syntax at that position".into(),
        }])
    })?;
    let mut p = Parser {
        file,
        text,
        env,
        errors: Vec::new(),
    };
    let cfg = p.pipeline(doc.as_table());
    if p.errors.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigErrors(p.errors))
    }
}

impl Parser<'_> {
    fn loc(&self, span: Option<std::ops::Range<usize>>) -> Loc {
        Loc::at(self.file, self.text, span.map_or(0, |s| s.start))
    }

    fn key_loc(&self, table: &Table, key: &str) -> Loc {
        let span = table
            .get_key_value(key)
            .and_then(|(k, v)| k.span().or_else(|| v.span()))
            .or_else(|| table.span());
        self.loc(span)
    }

    fn error(
        &mut self,
        loc: Loc,
        key: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.errors.push(ConfigError {
            loc,
            key: key.into(),
            message: message.into(),
            fix: fix.into(),
        });
    }

    fn unknown_keys(&mut self, table: &Table, prefix: &str, allowed: &[&str]) {
        for (k, _) in table.iter() {
            if !allowed.contains(&k) {
                let fix = match closest(k, allowed.iter().copied()) {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => format!("allowed keys: {}", allowed.join(", ")),
                };
                let loc = self.key_loc(table, k);
                self.error(loc, join(prefix, k), "unknown key", fix);
            }
        }
    }

    fn pipeline(&mut self, root: &Table) -> PipelineConfig {
        self.unknown_keys(root, "", TOP_KEYS);
        let stem = self
            .file
            .file_stem()
            .map_or("pipeline".into(), |s| s.to_string_lossy().into_owned());
        let mut cfg = PipelineConfig {
            file: self.file.to_path_buf(),
            name: stem,
            data_dir: PathBuf::new(),
            plugin_path: Vec::new(),
            shutdown_timeout: std::time::Duration::from_secs(30),
            channel_capacity: 16,
            admin_address: None,
            log_format: None,
            components: Vec::new(),
        };
        if let Some(t) = self.table(root, "pipeline", "") {
            let t = &*t;
            self.unknown_keys(t, "pipeline", PIPELINE_KEYS);
            if let Some(s) = self.string(t, "name", "pipeline") {
                cfg.name = s;
            }
            if let Some(s) = self.string(t, "data_dir", "pipeline") {
                cfg.data_dir = PathBuf::from(s);
            }
            if let Some(list) = self.strings(t, "plugin_path", "pipeline") {
                cfg.plugin_path = list.into_iter().map(PathBuf::from).collect();
            }
            if let Some(d) = self.duration(t, "shutdown_timeout", "pipeline") {
                cfg.shutdown_timeout = d;
            }
            if let Some(n) = self.positive(t, "channel_capacity", "pipeline") {
                cfg.channel_capacity = n;
            }
        }
        if cfg.data_dir.as_os_str().is_empty() {
            cfg.data_dir = PathBuf::from(".qdp").join(&cfg.name);
        }
        if let Some(t) = self.table(root, "admin", "") {
            let t = &*t;
            self.unknown_keys(t, "admin", &["address"]);
            cfg.admin_address = self.string(t, "address", "admin");
        }
        if let Some(t) = self.table(root, "log", "") {
            let t = &*t;
            self.unknown_keys(t, "log", &["format"]);
            if let Some(f) = self.string(t, "format", "log") {
                if f != "text" && f != "json" {
                    let loc = self.key_loc(t, "format");
                    self.error(
                        loc,
                        "log.format",
                        format!("`{f}` is not a log format"),
                        "use \"text\" or \"json\"",
                    );
                }
                cfg.log_format = Some(f);
            }
        }
        for kind in [Kind::Source, Kind::Transform, Kind::Sink] {
            let section = section_of(kind);
            if let Some(t) = self.table(root, section, "") {
                let t = &*t;
                for (id, item) in t.iter() {
                    let key = format!("{section}.{id}");
                    match item.as_table_like() {
                        Some(_) => {
                            if let Some(c) = self.component(kind, id, item, t) {
                                cfg.components.push(c);
                            }
                        }
                        None => {
                            let loc = self.key_loc(t, id);
                            self.error(
                                loc,
                                key,
                                "must be a table",
                                format!("write it as [{section}.{id}] with a `type` key"),
                            );
                        }
                    }
                }
            }
        }
        cfg
    }

    fn component(
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
        let mut options = serde_json::Map::new();
        let mut option_locs = std::collections::BTreeMap::new();
        for (k, v) in table.iter() {
            if RESERVED.contains(&k) {
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
        })
    }

    /// `parallelism = N | "auto" | { min = A, max = B }` (sinks only).
    fn parallelism(&mut self, table: &Table, key: &str, kind: Kind) -> Parallelism {
        let Some(item) = table.get("parallelism") else {
            return Parallelism::default();
        };
        let pkey = format!("{key}.parallelism");
        let loc = self.key_loc(table, "parallelism");
        if kind != Kind::Sink {
            self.error(
                loc,
                pkey,
                "only sinks run parallel writers",
                "remove `parallelism`, or set it on the sink this component feeds",
            );
            return Parallelism::default();
        }
        const FIX: &str =
            "write parallelism = 4 (fixed), \"auto\" (1 to 4 writers) or { min = 1, max = 8 }";
        if let Some(n) = item.as_integer() {
            if (1..=256).contains(&n) {
                return Parallelism::Fixed(n as usize);
            }
            self.error(loc, pkey, "must be between 1 and 256", FIX);
            return Parallelism::default();
        }
        if item.as_str() == Some("auto") {
            return Parallelism::AUTO;
        }
        if item.is_str() {
            self.error(loc, pkey, "unknown value", FIX);
            return Parallelism::default();
        }
        if let Some(t) = self.table(table, "parallelism", key) {
            let t = &*t;
            self.unknown_keys(t, &pkey, &["min", "max"]);
            let min = self.positive(t, "min", &pkey).unwrap_or(1);
            let max = self.positive(t, "max", &pkey).unwrap_or(min.max(4));
            if min > max || max > 256 {
                self.error(loc, pkey, "needs 1 <= min <= max <= 256", FIX);
                return Parallelism::default();
            }
            return Parallelism::Auto { min, max };
        }
        Parallelism::default()
    }

    fn buffer(&mut self, table: &Table, key: &str, kind: Kind) -> Option<BufferConfig> {
        let t = self.table(table, "buffer", key)?;
        let t = &*t;
        let bkey = format!("{key}.buffer");
        if kind == Kind::Sink {
            let loc = self.key_loc(table, "buffer");
            self.error(
                loc,
                bkey,
                "a buffer holds a component's output, and a sink has none",
                "put the buffer on the source or transform that feeds this sink",
            );
            return None;
        }
        self.unknown_keys(
            t,
            &bkey,
            &["dir", "max_bytes", "segment_bytes", "fsync", "group_commit"],
        );
        let mut b = BufferConfig {
            dir: self.string(t, "dir", &bkey).map(PathBuf::from),
            options: crate::buffer::BufferOptions::default(),
        };
        if let Some(n) = self.size(t, "max_bytes", &bkey) {
            b.options.max_bytes = n;
        }
        if let Some(n) = self.size(t, "segment_bytes", &bkey) {
            b.options.segment_bytes = n;
        }
        let every = self
            .duration(t, "group_commit", &bkey)
            .unwrap_or(std::time::Duration::from_millis(10));
        b.options.fsync = match self.string(t, "fsync", &bkey).as_deref() {
            None | Some("group") => crate::buffer::FsyncPolicy::GroupCommit(every),
            Some("always") => crate::buffer::FsyncPolicy::Always,
            Some("os") => crate::buffer::FsyncPolicy::Os,
            Some(other) => {
                let loc = self.key_loc(t, "fsync");
                self.error(
                    loc,
                    format!("{bkey}.fsync"),
                    format!("`{other}` is not an fsync policy"),
                    "use \"group\" (every group_commit interval), \"always\" or \"os\"",
                );
                crate::buffer::FsyncPolicy::GroupCommit(every)
            }
        };
        Some(b)
    }

    fn size(&mut self, t: &Table, key: &str, prefix: &str) -> Option<u64> {
        let v = self.json(t.get(key)?, &join(prefix, key))?;
        let parsed = match &v {
            serde_json::Value::Number(n) => n
                .as_u64()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{n} is not a positive size")),
            serde_json::Value::String(s) => parse_size(s),
            _ => Err("must be a size".to_string()),
        };
        match parsed {
            Ok(n) => Some(n),
            Err(e) => {
                let loc = self.key_loc(t, key);
                self.error(
                    loc,
                    join(prefix, key),
                    e,
                    "write a size such as \"512MiB\" or a number of bytes",
                );
                None
            }
        }
    }

    fn json(&mut self, item: &Item, key: &str) -> Option<serde_json::Value> {
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

    fn value(&mut self, v: &Value, key: &str) -> Option<serde_json::Value> {
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
    fn table<'t>(
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

    fn string(&mut self, t: &Table, key: &str, prefix: &str) -> Option<String> {
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

    fn strings(&mut self, t: &Table, key: &str, prefix: &str) -> Option<Vec<String>> {
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

    fn integer(&mut self, t: &Table, key: &str, prefix: &str) -> Option<i64> {
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

    fn positive(&mut self, t: &Table, key: &str, prefix: &str) -> Option<usize> {
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

    fn duration(&mut self, t: &Table, key: &str, prefix: &str) -> Option<std::time::Duration> {
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

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}
