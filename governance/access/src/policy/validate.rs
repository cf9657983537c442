//! Strict checks of a policy: every reference resolves, every name fits,
//! every password comes from env or a file. All problems are reported at once.

use super::locate::Doc;
use super::model::PolicyFile;
use super::password::password;
use super::secret::Secret;
use crate::names;
use qdp_core::config::{ConfigError, ConfigErrors, closest, interpolate};
use std::collections::BTreeMap;

/// Collects every problem of a policy.
pub(super) struct Checker<'a> {
    doc: &'a Doc,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    pub(super) fn error(
        &mut self,
        path: &[&str],
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.errors.push(ConfigError {
            loc: self.doc.loc(path),
            key: path.join("."),
            message: message.into(),
            fix: fix.into(),
        });
    }

    /// Checks that each of `refs` names a key of `known`.
    fn refs<'k>(
        &mut self,
        path: &[&str],
        what: &str,
        refs: &[String],
        known: impl Iterator<Item = &'k String> + Clone,
    ) {
        for r in refs {
            if !known.clone().any(|k| k == r) {
                let fix = match closest(r, known.clone().map(String::as_str)) {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => format!("declare `[{what}.{r}]` or use one of the declared {what}"),
                };
                self.error(
                    path,
                    format!("unknown {} `{r}`", &what[..what.len() - 1]),
                    fix,
                );
            }
        }
    }

    /// Checks `schema.table` patterns against the managed schemas.
    fn patterns(&mut self, path: &[&str], patterns: &[String], schemas: &[String]) {
        if !patterns.is_empty() && schemas.is_empty() {
            self.error(
                path,
                "Postgres access without a `[postgres]` target",
                "add `[postgres]` with `url` (and `schemas` if not the default four)",
            );
            return;
        }
        for p in patterns {
            let ok = p.split_once('.').is_some_and(|(s, t)| {
                schemas.iter().any(|m| m == s) && !t.is_empty() && !t.contains('.')
            });
            if !ok {
                self.error(
                    path,
                    format!("`{p}` is not `schema.table` in a managed schema"),
                    format!(
                        "write e.g. `gold.*` or `silver.client_accounts`; managed schemas: {} \
                         (add others to `postgres.schemas`)",
                        schemas.join(", ")
                    ),
                );
            }
        }
    }

    fn databases(&mut self, path: &[&str], dbs: &[String], has_target: bool) {
        if !dbs.is_empty() && !has_target {
            self.error(
                path,
                "ClickHouse access without a `[clickhouse]` target",
                "add `[clickhouse]` with `url` and `users_dir`",
            );
        }
        for d in dbs {
            if !names::is_identifier(d) {
                self.error(
                    path,
                    format!("`{d}` is not a database name"),
                    "use letters, digits and `_`",
                );
            }
        }
    }
}

/// Checks `spec`, interpolates its target settings and resolves passwords.
pub fn check(
    doc: &Doc,
    mut spec: PolicyFile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(PolicyFile, BTreeMap<String, Secret>), ConfigErrors> {
    let mut c = Checker {
        doc,
        errors: Vec::new(),
    };
    let interp = |c: &mut Checker, path: &[&str], text: &mut String| match interpolate(text, env) {
        Ok(v) => *text = v,
        Err(e) => c.error(
            path,
            e,
            "set the variable or give a default: `${NAME:-default}`",
        ),
    };
    if spec.postgres.is_none() && spec.clickhouse.is_none() {
        c.error(
            &[],
            "the policy has no target",
            "add `[postgres]` and/or `[clickhouse]`",
        );
    }
    let schemas = spec
        .postgres
        .as_ref()
        .map(|p| p.schemas.clone())
        .unwrap_or_default();
    if let Some(pg) = spec.postgres.as_mut() {
        interp(&mut c, &["postgres", "url"], &mut pg.url);
        interp(&mut c, &["postgres", "role_prefix"], &mut pg.role_prefix);
        let prefix = &pg.role_prefix;
        if !names::is_identifier(prefix) || !prefix.ends_with('_') {
            c.error(
                &["postgres", "role_prefix"],
                format!("`{prefix}` is not a role prefix"),
                "use lower-case letters, digits and `_`, ending in `_`, e.g. `qdp_`",
            );
        }
        for s in pg.schemas.iter().chain(&pg.pii_schemas) {
            if !names::is_identifier(s) || s.starts_with("mart_") {
                c.error(
                    &["postgres", "schemas"],
                    format!("`{s}` is not a manageable schema name"),
                    "use letters, digits and `_`; `mart_*` schemas come from `[teams]`",
                );
            }
        }
        for (i, p) in pg.pipelines.iter_mut().enumerate() {
            interp(&mut c, &["postgres", "pipelines", &i.to_string()], p);
        }
        pg.pipeline_files = super::pipelines::resolve(&mut c, doc.file(), &pg.pipelines);
        for s in &pg.pii_schemas {
            if !pg.schemas.contains(s) {
                c.error(
                    &["postgres", "pii_schemas"],
                    format!("`{s}` is not in `postgres.schemas`"),
                    "list it in `postgres.schemas` too",
                );
            }
        }
    }
    let has_ch = spec.clickhouse.is_some();
    if let Some(ch) = spec.clickhouse.as_mut() {
        interp(&mut c, &["clickhouse", "url"], &mut ch.url);
        let mut dir = ch.users_dir.display().to_string();
        interp(&mut c, &["clickhouse", "users_dir"], &mut dir);
        ch.users_dir = dir.into();
        if !ch.url.starts_with("http://") && !ch.url.starts_with("https://") {
            c.error(
                &["clickhouse", "url"],
                "not an HTTP URL",
                "write e.g. `http://127.0.0.1:8123`",
            );
        }
    }
    let prefix = spec
        .postgres
        .as_ref()
        .map_or("qdp_", |p| p.role_prefix.as_str())
        .to_string();
    let kinds: [(&str, Vec<&String>); 4] = [
        ("teams", spec.teams.keys().collect()),
        ("roles", spec.roles.keys().collect()),
        ("pipelines", spec.pipelines.keys().collect()),
        ("users", spec.users.keys().collect()),
    ];
    for (kind, keys) in &kinds {
        for name in keys {
            if !names::is_policy_name(name) {
                c.error(
                    &[kind, name],
                    format!("`{name}` is not a valid name"),
                    "use lower-case letters and digits, words joined by `-`, e.g. `energy-desk`",
                );
            } else if names::user_login(&prefix, &format!("pipeline-{name}")).len() > 63 {
                c.error(
                    &[kind, name],
                    "the name is too long for a Postgres role",
                    "use at most 40 characters",
                );
            }
            if *kind == "users"
                && ["team-", "role-", "pipeline-"]
                    .iter()
                    .any(|p| name.starts_with(p))
            {
                c.error(
                    &[kind, name],
                    "user names must not start with `team-`, `role-` or `pipeline-`",
                    "rename the user (those prefixes name group roles)",
                );
            }
        }
    }
    for (name, role) in &spec.roles {
        c.patterns(&["roles", name, "reads"], &role.reads, &schemas);
        c.databases(
            &["roles", name, "clickhouse_reads"],
            &role.clickhouse_reads,
            has_ch,
        );
    }
    for (name, p) in &spec.pipelines {
        c.patterns(&["pipelines", name, "writes"], &p.writes, &schemas);
        c.databases(
            &["pipelines", name, "clickhouse_writes"],
            &p.clickhouse_writes,
            has_ch,
        );
    }
    let mut passwords = BTreeMap::new();
    for (name, u) in &spec.users {
        c.refs(
            &["users", name, "teams"],
            "teams",
            &u.teams,
            spec.teams.keys(),
        );
        c.refs(
            &["users", name, "roles"],
            "roles",
            &u.roles,
            spec.roles.keys(),
        );
        if let Some(p) = &u.pipeline {
            c.refs(
                &["users", name, "pipeline"],
                "pipelines",
                std::slice::from_ref(p),
                spec.pipelines.keys(),
            );
        }
        if let Some(s) = password(&mut c, name, u.password.as_ref(), env) {
            passwords.insert(name.clone(), s);
        }
    }
    for (i, f) in spec.row_filters.iter().enumerate() {
        let i = i.to_string();
        let path = ["row_filters", i.as_str()];
        c.patterns(&path, std::slice::from_ref(&f.table), &schemas);
        if f.table.contains('*') {
            c.error(
                &path,
                "a row filter names one table, not a pattern",
                "write `table = \"silver.client_accounts\"`",
            );
        }
        if !names::is_identifier(&f.column) {
            c.error(
                &path,
                format!("`{}` is not a column name", f.column),
                "use the column holding the team name, e.g. `service_team`",
            );
        }
    }
    if c.errors.is_empty() {
        Ok((spec, passwords))
    } else {
        Err(ConfigErrors(c.errors))
    }
}
