//! Schedule options are checked before anything runs, with file, line, key
//! and fix like every other configuration error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use qdp_core::config::{ConfigError, parse_pipeline};
use qdp_core::schedule::ScheduleSpec;
use std::path::Path;

fn errors(text: &str) -> Vec<ConfigError> {
    match parse_pipeline(Path::new("p.toml"), text, &|_| None) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.0,
    }
}

fn source(extra: &str) -> String {
    format!("[sources.eia]\ntype = \"eia\"\nseries = [\"WCESTUS1\"]\n{extra}\n")
}

fn one(text: &str) -> ConfigError {
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:?}");
    e.into_iter().next().unwrap()
}

#[test]
fn good_schedules_parse_and_are_not_plugin_options() {
    let text = source(
        "release_calendar = \"eia_wpsr\"\npoll = { every = \"30s\", max = \"5m\", give_up_after = \"8h\" }\nsla = \"1h\"",
    ) + &source("schedule = \"0 */5 * * * *\"\ntimezone = \"America/New_York\"")
        .replace("eia]", "files]");
    let text = format!(
        "[pipeline]\nalert_webhook = \"http://127.0.0.1:9/hook\"\nstate = {{ postgres = \"postgres://postgres@127.0.0.1/qdp\", schema = \"qdp_ops\" }}\n{text}"
    );
    let cfg = parse_pipeline(Path::new("p.toml"), &text, &|_| None).unwrap();
    assert_eq!(
        cfg.alert_webhook.as_deref(),
        Some("http://127.0.0.1:9/hook")
    );
    assert_eq!(cfg.state_schema.as_deref(), Some("qdp_ops"));
    let eia = &cfg.components[0];
    match &eia.schedule {
        Some(ScheduleSpec::Release(r)) => {
            assert_eq!(r.calendar.name(), "eia_wpsr");
            assert_eq!(r.poll.every.as_secs(), 30);
            assert_eq!(r.poll.max.as_secs(), 300);
            assert_eq!(r.poll.give_up_after.as_secs(), 8 * 3600);
            assert_eq!(r.sla.map(|d| d.as_secs()), Some(3600));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        eia.options,
        serde_json::json!({ "series": ["WCESTUS1"] }),
        "schedule keys are the runtime's, never passed to the plugin"
    );
    match &cfg.components[1].schedule {
        Some(ScheduleSpec::Cron(c)) => assert_eq!(c.timezone, chrono_tz::America::New_York),
        other => panic!("{other:?}"),
    }
}

#[test]
fn both_schedule_and_release_calendar_is_an_error() {
    let e = one(&source(
        "schedule = \"0 0 * * * *\"\nrelease_calendar = \"eia_wpsr\"",
    ));
    assert_eq!(e.key, "sources.eia.release_calendar");
    assert!(e.message.contains("not both"), "{e}");
    assert_eq!(e.loc.line, 5);
}

#[test]
fn an_unknown_calendar_names_the_choices() {
    let e = one(&source("release_calendar = \"eia_weekly\""));
    assert_eq!(e.key, "sources.eia.release_calendar");
    assert!(e.message.contains("eia_weekly"));
    assert!(
        e.fix.contains("\"eia_wpsr\"") && e.fix.contains("\"cftc_cot\""),
        "{e}"
    );
}

#[test]
fn bad_cron_text_is_an_error_with_an_example() {
    let e = one(&source("schedule = \"every wednesday\""));
    assert_eq!(e.key, "sources.eia.schedule");
    assert!(e.message.contains("every wednesday"), "{e}");
    assert!(e.fix.contains("0 */5 * * * *"), "{e}");
    let e = one(&source(
        "schedule = \"0 0 * * *\"\ntimezone = \"Europe/Londn\"",
    ));
    assert_eq!(e.key, "sources.eia.timezone");
    assert!(e.fix.contains("Europe/London"), "{e}");
}

#[test]
fn options_without_their_schedule_and_bad_polls_are_errors() {
    let e = errors(&source("timezone = \"UTC\"\nsla = \"1h\""));
    let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["sources.eia.timezone", "sources.eia.sla"]);
    let e = one(&source(
        "release_calendar = \"cftc_cot\"\npoll = { every = \"10m\", max = \"1m\" }",
    ));
    assert_eq!(e.key, "sources.eia.poll.max");
    let e = one(&source(
        "release_calendar = \"cftc_cot\"\npoll = { evry = \"10m\" }",
    ));
    assert_eq!(e.key, "sources.eia.poll.evry");
    assert!(e.fix.contains("every"), "{e}");
}

#[test]
fn ops_settings_are_checked() {
    let e = one("[pipeline]\nalert_webhook = \"hooks.example.com\"\n");
    assert_eq!(e.key, "pipeline.alert_webhook");
    let e = one("[pipeline]\nstate = { postgres = \"postgres://u@h:notaport/db\" }\n");
    assert_eq!(e.key, "pipeline.state.postgres");
    let e = one("[pipeline]\nstate = { postgres = \"postgres://u@h/db\", schema = \"Ops-1\" }\n");
    assert_eq!(e.key, "pipeline.state.schema");
}

#[test]
fn lineage_target_is_checked() {
    let ok = |text: &str| parse_pipeline(Path::new("p.toml"), text, &|_| None).unwrap();
    let cfg = ok("[pipeline.lineage]\nurl = \"http://127.0.0.1:5000/api/v1/lineage\"\n");
    let l = cfg.lineage.unwrap();
    assert_eq!(
        l.target,
        qdp_core::config::LineageTarget::Http("http://127.0.0.1:5000/api/v1/lineage".into())
    );
    assert_eq!(l.namespace, "qdp");
    let cfg = ok("[pipeline.lineage]\nfile = \"ol.ndjson\"\nnamespace = \"trading\"\n");
    assert_eq!(cfg.lineage.unwrap().namespace, "trading");
    let e = one("[pipeline.lineage]\nurl = \"marquez:5000\"\n");
    assert_eq!(e.key, "pipeline.lineage.url");
    let e = one("[pipeline.lineage]\nurl = \"http://x/l\"\nfile = \"l.ndjson\"\n");
    assert_eq!(e.key, "pipeline.lineage");
    let e = one("[pipeline.lineage]\nnamespce = \"x\"\nfile = \"l.ndjson\"\n");
    assert_eq!(e.key, "pipeline.lineage.namespce");
}
