//! Policy files are checked strictly before anything runs: errors name the
//! file, the line, the key and a fix; passwords never come from the file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use qdp_access::Policy;
use std::collections::HashMap;
use std::path::Path;

fn parse(text: &str, env: &[(&str, &str)]) -> Result<Policy, String> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Policy::parse(Path::new("access.toml"), text, &|k| env.get(k).cloned())
        .map_err(|e| e.to_string())
}

const BASE: &str = r#"
[postgres]
url = "postgres://postgres@127.0.0.1:5432/warehouse"

[teams.energy-desk]

[roles.analyst]
reads = ["gold.*"]
"#;

#[test]
fn a_valid_policy_resolves_passwords_without_showing_them() {
    let text = format!(
        "{BASE}\n[users.alice]\nteams = [\"energy-desk\"]\nroles = [\"analyst\"]\npassword = {{ env = \"PW_A\" }}\n"
    );
    let p = parse(&text, &[("PW_A", "s3cr3t-value")]).unwrap();
    assert_eq!(p.passwords["alice"].expose(), "s3cr3t-value");
    assert!(
        !format!("{p:?}").contains("s3cr3t-value"),
        "Debug must not print passwords"
    );
}

#[test]
fn unknown_team_is_named_with_its_line_and_a_fix() {
    let text = format!(
        "{BASE}\n[users.alice]\nteams = [\"energy-dsk\"]\npassword = {{ env = \"PW_A\" }}\n"
    );
    let e = parse(&text, &[("PW_A", "x")]).unwrap_err();
    assert!(e.contains("access.toml:11:"), "{e}");
    assert!(
        e.contains("users.alice.teams") && e.contains("unknown team `energy-dsk`"),
        "{e}"
    );
    assert!(e.contains("did you mean `energy-desk`?"), "{e}");
}

#[test]
fn plain_text_passwords_are_refused() {
    let text = format!("{BASE}\n[users.alice]\npassword = \"hunter2\"\n");
    let e = parse(&text, &[]).unwrap_err();
    assert!(
        e.contains("users.alice.password") && e.contains("plain-text password"),
        "{e}"
    );
    assert!(
        e.contains("env = \"QDP_PASSWORD_ALICE\""),
        "the fix shows the form to use: {e}"
    );
    assert!(
        !e.contains("hunter2"),
        "the error must not echo the password: {e}"
    );
}

#[test]
fn a_missing_password_variable_names_the_user_and_key() {
    let text = format!("{BASE}\n[users.bob]\npassword = {{ env = \"PW_BOB\" }}\n");
    let e = parse(&text, &[]).unwrap_err();
    assert!(
        e.contains("users.bob.password.env") && e.contains("user `bob`") && e.contains("PW_BOB"),
        "{e}"
    );
    let text = format!("{BASE}\n[users.bob]\npassword = {{ file = \"/nonexistent/qdp/pw\" }}\n");
    let e = parse(&text, &[]).unwrap_err();
    assert!(
        e.contains("users.bob.password.file") && e.contains("/nonexistent/qdp/pw"),
        "{e}"
    );
}

#[test]
fn other_mistakes_are_all_reported_at_once() {
    let text = r#"
[postgres]
url = "${NO_SUCH_URL}"
role_prefix = "QDP"

[roles.reader]
reads = ["warehouse.*"]
clickhouse_reads = ["qdp"]

[users.x]
roles = ["writer"]
pipeline = "nope"
password = { env = "A", file = "/b" }

[[row_filters]]
table = "silver.*"
column = "service-team"
"#;
    let e = parse(text, &[]).unwrap_err();
    for needle in [
        "postgres.url",
        "NO_SUCH_URL",
        "postgres.role_prefix",
        "roles.reader.reads",
        "roles.reader.clickhouse_reads",
        "unknown role `writer`",
        "unknown pipeline `nope`",
        "exactly one of `env` and `file`",
        "one table, not a pattern",
        "not a column name",
    ] {
        assert!(e.contains(needle), "missing `{needle}` in:\n{e}");
    }
    let unknown_key = parse("[postgres]\nurl = \"x\"\nrole_prefx = \"a_\"\n", &[]).unwrap_err();
    assert!(
        unknown_key.contains("role_prefx") && unknown_key.contains("access.toml:3"),
        "{unknown_key}"
    );
}

#[test]
fn the_example_policy_parses_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    for svc in ["qdp-svc-macro-warehouse", "qdp-svc-realtime-processor"] {
        std::fs::write(dir.path().join(svc), format!("pw-of-{svc}\n")).unwrap();
    }
    let secrets = dir.path().display().to_string();
    let mut env: Vec<(String, String)> = ["ALICE", "BOB", "CAROL", "DMITRI", "ERIN", "FRANK"]
        .iter()
        .map(|u| (format!("QDP_PASSWORD_{u}"), format!("pw-{u}")))
        .collect();
    env.push(("QDP_SECRETS_DIR".into(), secrets));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/access.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let env: HashMap<&str, &str> = env.into_iter().collect();
    // Parsed at its real path: `postgres.pipelines` is relative to it.
    let p = Policy::parse(Path::new(path), &text, &|k| {
        env.get(k).map(|v| v.to_string())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let spec = &p.spec;
    let files = &spec.postgres.as_ref().unwrap().pipeline_files;
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("pipelines/macro-warehouse.toml")),
        "{files:?}"
    );
    for team in [
        "energy-desk",
        "freight-desk",
        "ags-desk",
        "quant-research",
        "macro-research",
        "client-services",
    ] {
        assert!(spec.teams.contains_key(team), "team {team}");
    }
    assert_eq!(
        p.passwords["svc-macro-warehouse"].expose(),
        "pw-of-qdp-svc-macro-warehouse"
    );
    assert!(
        spec.roles.values().any(|r| r.pii),
        "a role with the pii grant"
    );
    assert_eq!(
        spec.pipelines["realtime-processor"].clickhouse_writes,
        ["qdp"]
    );
    assert_eq!(spec.row_filters[0].table, "silver.client_accounts");
    // The rendered users file names every ClickHouse user; plan shows no hashes.
    let ch = spec.clickhouse.as_ref().unwrap();
    let users = qdp_access::clickhouse::users(&p);
    let shown = qdp_access::clickhouse::file(&users, ch, true);
    assert!(shown.contains("<qdp_svc_realtime_processor>") && shown.contains("<qdp_alice>"));
    assert!(
        !shown.contains("pw-")
            && shown
                .matches("<password_sha256_hex>***</password_sha256_hex>")
                .count()
                == users.len()
    );
}
