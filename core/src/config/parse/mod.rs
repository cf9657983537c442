//! Parsing a pipeline TOML file into [`PipelineConfig`], keeping positions so
//! every error can name its line.

//!
//! * this file: the entry point, the `[pipeline]`, `[admin]` and `[log]`
//!   tables, and how errors are recorded;
//! * [`component`]: one `[sources|transforms|sinks.ID]` table, with its
//!   `inputs`, `batch` and `restart`;
//! * [`policies`]: the `buffer` and `parallelism` tables;
//! * [`values`]: typed reads of single values (strings, integers, sizes,
//!   durations, sub-tables) that report a wrong type where it stands.

mod component;
mod lineage;
mod policies;
mod schedule;
mod values;

use super::error::{ConfigError, ConfigErrors, Loc, closest};
use super::model::*;
use std::path::{Path, PathBuf};
use toml_edit::Table;
use values::join;

const TOP_KEYS: &[&str] = &["pipeline", "admin", "log", "sources", "transforms", "sinks"];
const PIPELINE_KEYS: &[&str] = &[
    "name",
    "data_dir",
    "plugin_path",
    "shutdown_timeout",
    "channel_capacity",
    "state",
    "alert_webhook",
    "lineage",
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
    pub(super) fn loc(&self, span: Option<std::ops::Range<usize>>) -> Loc {
        Loc::at(self.file, self.text, span.map_or(0, |s| s.start))
    }

    pub(super) fn key_loc(&self, table: &Table, key: &str) -> Loc {
        let span = table
            .get_key_value(key)
            .and_then(|(k, v)| k.span().or_else(|| v.span()))
            .or_else(|| table.span());
        self.loc(span)
    }

    pub(super) fn error(
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

    pub(super) fn unknown_keys(&mut self, table: &Table, prefix: &str, allowed: &[&str]) {
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
            state_postgres: None,
            state_schema: None,
            alert_webhook: None,
            lineage: None,
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
            (cfg.state_postgres, cfg.state_schema) = self.state_table(t);
            cfg.alert_webhook = self.webhook(t);
            cfg.lineage = self.lineage(t);
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
}
