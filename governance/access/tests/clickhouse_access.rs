//! The ClickHouse side of a policy against a real clickhouse-server: the
//! users file is written, the server loads it by itself, and each user can
//! do what its profile and databases allow, nothing more.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use qdp_access::clickhouse::{self, query};
use qdp_access::{Kind, Policy};
use qdp_test_services::ClickHouse;
use std::path::Path;
use std::time::Duration;

const POLICY: &str = r#"
[clickhouse]
url = "${CH_URL}"
users_dir = "${CH_USERS_DIR}"
networks = ["127.0.0.1", "::1"]

[teams.quant-research]

[roles.analyst]
clickhouse_reads = ["qdp"]

[pipelines.realtime-processor]
clickhouse_writes = ["qdp"]

[users.dmitri]
teams = ["quant-research"]
roles = ["analyst"]
password = { env = "PW_DMITRI" }

[users.svc-realtime]
pipeline = "realtime-processor"
password = { env = "PW_SVC" }
"#;

#[tokio::test]
async fn users_file_grants_read_only_and_writer_access_and_reports_edits() {
    let Some(server) = ClickHouse::start() else {
        return;
    };
    let dir = server.users_dir();
    let (pw_d, pw_s) = (
        format!("d-{}", rand::random::<u32>()),
        format!("s-{}", rand::random::<u32>()),
    );
    let env = |k: &str| match k {
        "CH_URL" => Some(server.url()),
        "CH_USERS_DIR" => Some(dir.display().to_string()),
        "PW_DMITRI" => Some(pw_d.clone()),
        "PW_SVC" => Some(pw_s.clone()),
        _ => None,
    };
    let policy =
        Policy::parse(Path::new("access.toml"), POLICY, &env).unwrap_or_else(|e| panic!("{e}"));
    server.query("CREATE DATABASE qdp").unwrap();
    server.query("CREATE DATABASE secret").unwrap();
    server
        .query("CREATE TABLE secret.t (a UInt8) ENGINE = Memory")
        .unwrap();

    // Nothing written yet: plan shows the file, redacted; diff sees drift.
    let plan = qdp_access::plan(&policy).await.unwrap();
    assert_eq!(plan.clickhouse.len(), 1);
    assert_eq!(plan.clickhouse[0].kind, Kind::Missing);
    let shown = &plan.clickhouse[0].statements[0].shown;
    assert!(shown.contains("<readonly>1</readonly>") && !shown.contains(&pw_d));
    assert!(!qdp_access::diff(&policy).await.unwrap().is_empty());

    // Apply writes it and waits until the server accepts the logins.
    let applied = qdp_access::apply(&policy).await.unwrap();
    assert_eq!(applied.clickhouse.len(), 1);
    assert!(
        qdp_access::apply(&policy).await.unwrap().is_empty(),
        "a second apply changes nothing"
    );
    assert!(qdp_access::diff(&policy).await.unwrap().is_empty());
    let written = std::fs::read_to_string(dir.join(clickhouse::FILE)).unwrap();
    assert!(
        !written.contains(&pw_d) && !written.contains(&pw_s),
        "only hashes on disk"
    );

    let http = reqwest::Client::new();
    let url = server.url();
    let (d, s) = ("qdp_dmitri", "qdp_svc_realtime");
    // The pipeline writes its database.
    query(&http, &url, s, &pw_s, "CREATE TABLE qdp.ticks (symbol_code String, price Float64) ENGINE = MergeTree ORDER BY symbol_code").await.unwrap();
    query(
        &http,
        &url,
        s,
        &pw_s,
        "INSERT INTO qdp.ticks VALUES ('CLZ6', 71.5)",
    )
    .await
    .unwrap();
    // The analyst reads it, writes nothing, sees no other database.
    assert_eq!(
        query(&http, &url, d, &pw_d, "SELECT count() FROM qdp.ticks")
            .await
            .unwrap()
            .trim(),
        "1"
    );
    for sql in [
        "INSERT INTO qdp.ticks VALUES ('X', 1)",
        "CREATE TABLE qdp.mine (a UInt8) ENGINE = Memory",
        "DROP TABLE qdp.ticks",
    ] {
        let e = query(&http, &url, d, &pw_d, sql).await.unwrap_err();
        assert!(e.contains("readonly"), "{sql}: {e}");
    }
    let e = query(&http, &url, d, &pw_d, "SELECT * FROM secret.t")
        .await
        .unwrap_err();
    assert!(e.contains("secret"), "{e}");
    let e = query(&http, &url, s, &pw_s, "SELECT * FROM secret.t")
        .await
        .unwrap_err();
    assert!(e.contains("secret"), "{e}");
    assert!(
        query(&http, &url, d, "wrong-password", "SELECT 1")
            .await
            .is_err()
    );
    // Queries are logged (profile `log_queries = 1`).
    server.query("SYSTEM FLUSH LOGS").unwrap();
    let logged = server
        .query(&format!(
            "SELECT count() FROM system.query_log WHERE user = '{d}' AND query LIKE '%qdp.ticks%'"
        ))
        .unwrap();
    assert!(
        logged.trim().parse::<u32>().unwrap() > 0,
        "query_log has the analyst's queries"
    );

    // A hand edit (the analyst made a writer) is drift; apply restores the file.
    let edited = written.replacen(
        "<profile>qdp_readonly</profile>",
        "<profile>qdp_writer</profile>",
        1,
    );
    std::fs::write(dir.join(clickhouse::FILE), &edited).unwrap();
    let drift = qdp_access::diff(&policy).await.unwrap();
    let lines: Vec<String> = drift.changes().map(|c| c.to_string()).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("differs from the policy") && l.contains(d)),
        "{lines:?}"
    );
    qdp_access::apply(&policy).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join(clickhouse::FILE)).unwrap(),
        written
    );
    // Wait for the reload, then the analyst is read-only again.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match query(
            &http,
            &url,
            d,
            &pw_d,
            "INSERT INTO qdp.ticks VALUES ('X', 1)",
        )
        .await
        {
            Err(e) if e.contains("readonly") => break,
            other => assert!(
                std::time::Instant::now() < deadline,
                "still not read-only: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A missing file is drift too.
    std::fs::remove_file(dir.join(clickhouse::FILE)).unwrap();
    let drift = qdp_access::diff(&policy).await.unwrap();
    assert!(
        drift.clickhouse.iter().any(|c| c.kind == Kind::Missing),
        "{drift:?}"
    );
}
