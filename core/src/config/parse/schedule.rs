//! A source's schedule (`schedule` + `timezone`, or `release_calendar` +
//! `poll` + `sla`) and the pipeline's ops settings (`[pipeline.state]`,
//! `alert_webhook`), checked before anything runs.

use super::Parser;
use super::values::join;
use crate::config::error::closest;
use crate::config::model::Kind;
use crate::schedule::{CronSpec, PollPolicy, ReleaseSpec, ScheduleSpec};
use qdp_sdk::calendar::ReleaseCalendar;
use std::str::FromStr;
use toml_edit::Table;

/// Source keys the runtime reads (never passed to the plugin).
pub(super) const SCHEDULE_KEYS: &[&str] =
    &["schedule", "timezone", "release_calendar", "poll", "sla"];

const CRON_FIX: &str = "write six fields, seconds first: \"0 */5 * * * *\" (every 5 minutes), \"0 30 10 * * Wed\" (Wednesdays 10:30)";

impl Parser<'_> {
    pub(super) fn schedule(
        &mut self,
        table: &Table,
        key: &str,
        kind: Kind,
    ) -> Option<ScheduleSpec> {
        if kind != Kind::Source {
            return None;
        }
        let has = |k: &str| table.contains_key(k);
        if has("schedule") && has("release_calendar") {
            let loc = self.key_loc(table, "release_calendar");
            self.error(
                loc,
                join(key, "release_calendar"),
                "a source runs on a cron `schedule` or on a `release_calendar`, not both",
                "remove one of the two keys",
            );
            return None;
        }
        for (k, needs) in [
            ("timezone", "schedule"),
            ("poll", "release_calendar"),
            ("sla", "release_calendar"),
        ] {
            if has(k) && !has(needs) {
                let loc = self.key_loc(table, k);
                self.error(
                    loc,
                    join(key, k),
                    format!("`{k}` only applies with `{needs}`"),
                    format!("add `{needs}` or remove `{k}`"),
                );
            }
        }
        if has("schedule") {
            self.cron(table, key)
        } else if has("release_calendar") {
            self.release(table, key)
        } else {
            None
        }
    }

    fn cron(&mut self, table: &Table, key: &str) -> Option<ScheduleSpec> {
        let text = self.string(table, "schedule", key)?;
        let tz = match self.string(table, "timezone", key) {
            None => chrono_tz::UTC,
            Some(name) => match chrono_tz::Tz::from_str(&name) {
                Ok(tz) => tz,
                Err(_) => {
                    let names = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name());
                    let fix = match closest(&name, names) {
                        Some(c) => format!("did you mean \"{c}\"?"),
                        None => {
                            "use an IANA zone name such as \"America/New_York\" or \"UTC\"".into()
                        }
                    };
                    let loc = self.key_loc(table, "timezone");
                    self.error(
                        loc,
                        join(key, "timezone"),
                        format!("unknown time zone `{name}`"),
                        fix,
                    );
                    return None;
                }
            },
        };
        match CronSpec::parse(&text, tz) {
            Ok(c) => Some(ScheduleSpec::Cron(Box::new(c))),
            Err(e) => {
                let loc = self.key_loc(table, "schedule");
                self.error(
                    loc,
                    join(key, "schedule"),
                    format!("`{text}` is not a cron schedule: {e}"),
                    CRON_FIX,
                );
                None
            }
        }
    }

    fn release(&mut self, table: &Table, key: &str) -> Option<ScheduleSpec> {
        let name = self.string(table, "release_calendar", key)?;
        let choices: Vec<String> = ReleaseCalendar::ALL
            .iter()
            .map(|c| format!("\"{}\"", c.name()))
            .collect();
        let Some(calendar) = ReleaseCalendar::from_name(&name) else {
            let loc = self.key_loc(table, "release_calendar");
            self.error(
                loc,
                join(key, "release_calendar"),
                format!("unknown release calendar `{name}`"),
                format!("use one of: {}", choices.join(", ")),
            );
            return None;
        };
        let mut poll = PollPolicy::default();
        if let Some(t) = self.table(table, "poll", key) {
            let t = &*t;
            let pkey = join(key, "poll");
            self.unknown_keys(t, &pkey, &["every", "max", "give_up_after"]);
            if let Some(d) = self.duration(t, "every", &pkey) {
                poll.every = d;
            }
            if let Some(d) = self.duration(t, "max", &pkey) {
                poll.max = d;
            } else if t.contains_key("every") {
                poll.max = poll.max.max(poll.every);
            }
            if let Some(d) = self.duration(t, "give_up_after", &pkey) {
                poll.give_up_after = d;
            }
            let loc = self.key_loc(table, "poll");
            if poll.every.is_zero() || poll.give_up_after.is_zero() {
                self.error(
                    loc,
                    pkey,
                    "`every` and `give_up_after` must be longer than zero",
                    "write e.g. poll = { every = \"1m\", max = \"10m\", give_up_after = \"6h\" }",
                );
            } else if poll.max < poll.every {
                self.error(
                    loc,
                    join(&pkey, "max"),
                    "`max` is shorter than `every`",
                    "the wait doubles from `every` up to `max`: make `max` at least `every`",
                );
            }
        }
        let sla = self.duration(table, "sla", key);
        Some(ScheduleSpec::Release(ReleaseSpec {
            calendar,
            poll,
            sla,
        }))
    }

    /// `[pipeline.state] postgres = "postgres://...", schema = "ops"`.
    pub(super) fn state_table(&mut self, pipeline: &Table) -> (Option<String>, Option<String>) {
        let Some(t) = self.table(pipeline, "state", "pipeline") else {
            return (None, None);
        };
        let t = &*t;
        self.unknown_keys(t, "pipeline.state", &["postgres", "schema"]);
        let schema = self.string(t, "schema", "pipeline.state");
        if let Some(s) = &schema {
            let ok = s.len() <= 63
                && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                let loc = self.key_loc(t, "schema");
                self.error(
                    loc,
                    "pipeline.state.schema",
                    format!("`{s}` is not a plain schema name"),
                    "use lower-case letters, digits and `_`, e.g. \"qdp_ops\"",
                );
            }
        }
        if schema.is_some() && !t.contains_key("postgres") {
            let loc = self.key_loc(t, "schema");
            self.error(
                loc,
                "pipeline.state.schema",
                "`schema` only applies with `postgres`",
                "add `postgres = \"postgres://...\"` or remove `schema`",
            );
        }
        (self.state_url(t), schema)
    }

    fn state_url(&mut self, t: &Table) -> Option<String> {
        let url = self.string(t, "postgres", "pipeline.state")?;
        if let Err(e) = tokio_postgres::Config::from_str(&url) {
            let loc = self.key_loc(t, "postgres");
            // The error names the part at fault, never the password.
            self.error(
                loc,
                "pipeline.state.postgres",
                format!("not a Postgres connection string: {e}"),
                "write postgres://USER@HOST:PORT/DATABASE (a password through ${ENV})",
            );
            return None;
        }
        Some(url)
    }

    /// `alert_webhook = "http://..."` under `[pipeline]`.
    pub(super) fn webhook(&mut self, pipeline: &Table) -> Option<String> {
        let url = self.string(pipeline, "alert_webhook", "pipeline")?;
        if reqwest::Url::parse(&url).is_ok_and(|u| u.scheme() == "http" || u.scheme() == "https") {
            return Some(url);
        }
        let loc = self.key_loc(pipeline, "alert_webhook");
        self.error(
            loc,
            "pipeline.alert_webhook",
            "not an http:// or https:// URL",
            "write the full URL alerts are POSTed to, e.g. \"https://hooks.example.com/qdp\"",
        );
        None
    }
}
