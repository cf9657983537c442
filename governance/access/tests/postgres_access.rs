//! A policy applied to a real warehouse database, then checked by logging
//! in as each of its users: what they can read, write and see.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Scratch, column, denied, ok};
use qdp_access::{Policy, postgres::password};
use std::collections::HashMap;

fn policy_text() -> &'static str {
    r#"
[postgres]
url = "${ADMIN_URL}"
role_prefix = "${PREFIX}"

[teams.energy-desk]
[teams.freight-desk]

[roles.analyst]
reads = ["gold.*", "silver.*"]
audit = "ddl"

[roles.steward]
reads = ["bronze.*", "silver.*", "gold.*", "ops.*"]
pii = true
all_rows = true
audit = "all"

[pipelines.macro-warehouse]
writes = ["bronze.*", "silver.*", "gold.*", "ops.*"]
create_schemas = true

[pipelines.curves]
writes = ["gold.curve_*"]
audit = "mod"

[users.alice]
teams = ["energy-desk"]
roles = ["analyst"]
password = { env = "PW_ALICE" }

[users.bob]
teams = ["freight-desk"]
roles = ["analyst"]
password = { env = "PW_BOB" }

[users.frank]
roles = ["steward"]
password = { env = "PW_FRANK" }

[users.svc-warehouse]
pipeline = "macro-warehouse"
password = { env = "PW_SVC_WAREHOUSE" }

[users.svc-curves]
pipeline = "curves"
password = { env = "PW_SVC_CURVES" }

[[row_filters]]
table = "silver.client_accounts"
column = "service_team"
"#
}

struct Setup {
    db: Scratch,
    env: HashMap<String, String>,
    policy: Policy,
}

impl Setup {
    fn pw(&self, user: &str) -> &str {
        &self.env[&format!("PW_{}", user.replace('-', "_").to_uppercase())]
    }
}

/// The warehouse as the pipelines build it: apply, the warehouse pipeline's
/// account runs the sink's real migrations and loads rows, apply again.
async fn setup() -> Option<Setup> {
    let db = Scratch::new().await?;
    let mut env: HashMap<String, String> = ["ALICE", "BOB", "FRANK", "SVC_WAREHOUSE", "SVC_CURVES"]
        .iter()
        .map(|u| {
            (
                format!("PW_{u}"),
                format!("pw-{u}-{}", rand::random::<u32>()),
            )
        })
        .collect();
    env.insert("ADMIN_URL".into(), db.admin_url());
    env.insert("PREFIX".into(), db.prefix.clone());
    let policy = common::policy(policy_text(), &env);
    // A table of the curves pipeline, there before the policy.
    let admin = db.admin().await;
    admin.batch_execute("CREATE SCHEMA gold; CREATE TABLE gold.curve_points (curve text, tenor int, value float8)").await.unwrap();
    // The plan: roles, grants and future-table defaults; no secret shown.
    let plan = qdp_access::plan(&policy).await.unwrap();
    let shown: Vec<&str> = qdp_access::change::ordered(&plan.postgres)
        .iter()
        .map(|s| s.shown.as_str())
        .collect();
    let p = &db.prefix;
    for want in [
        format!("CREATE ROLE \"{p}alice\" LOGIN"),
        format!("GRANT \"{p}team_energy_desk\" TO \"{p}alice\""),
        format!(
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"{p}pipeline_macro_warehouse\" IN SCHEMA \"gold\" GRANT SELECT ON TABLES TO \"{p}role_analyst\""
        ),
        format!("GRANT INSERT ON TABLE \"gold\".\"curve_points\" TO \"{p}pipeline_curves\""),
        format!("ALTER ROLE \"{p}svc_warehouse\" SET role = '{p}pipeline_macro_warehouse'"),
    ] {
        assert!(
            shown.contains(&want.as_str()),
            "plan lacks {want}:\n{}",
            shown.join("\n")
        );
    }
    let silver_default =
        format!("IN SCHEMA \"silver\" GRANT SELECT ON TABLES TO \"{p}role_analyst\"");
    assert!(
        !shown.iter().any(|s| s.contains(&silver_default)),
        "no blanket silver reads without pii"
    );
    for pw in env
        .iter()
        .filter(|(k, _)| k.starts_with("PW_"))
        .map(|(_, v)| v)
    {
        assert!(
            !shown
                .iter()
                .any(|s| s.contains(pw.as_str()) || s.contains("SCRAM-SHA-256$"))
        );
    }
    let first = qdp_access::apply(&policy).await.unwrap();
    assert!(!first.postgres.is_empty());
    let s = Setup { db, env, policy };

    let mut svc = s.db.login("svc-warehouse", s.pw("svc-warehouse")).await;
    let schemas = qdp_sink_postgres::config::Schemas {
        bronze: "bronze".into(),
        silver: "silver".into(),
        gold: "gold".into(),
        ops: "ops".into(),
    };
    let applied = qdp_sink_postgres::migrate::apply(&mut svc, &schemas)
        .await
        .unwrap()
        .unwrap();
    assert!(
        applied
            .applied
            .iter()
            .any(|v| v.starts_with("category:client_accounts"))
    );
    ok(&svc, "svc-warehouse", "
        INSERT INTO silver.client_accounts (source_system_name, client_code, client_name, country_code, service_team,
            credit_limit, credit_limit_unit, contact_name, contact_email, component_instance_name, ingestion_time, source_table_name, platform_worker_name)
        VALUES ('drop_clients', 'C001', 'Nordic Refining', 'NO', 'energy-desk', 1e6, '1_USD', 'Ola N', 'ola@nr.example', 'drop', now(), 'bronze.clients', 'w1'),
               ('drop_clients', 'C002', 'Gulf Crude', 'US', 'energy-desk', 2e6, '1_USD', 'Jane D', 'jane@gc.example', 'drop', now(), 'bronze.clients', 'w1'),
               ('drop_clients', 'C003', 'Baltic Bulk', 'DK', 'freight-desk', 5e5, '1_USD', 'Lars K', 'lars@bb.example', 'drop', now(), 'bronze.clients', 'w1'),
               ('drop_clients', 'C004', 'Orphan Ltd', 'GB', 'no-such-desk', 1e5, '1_USD', 'Sam O', 'sam@o.example', 'drop', now(), 'bronze.clients', 'w1');
        CREATE VIEW gold.dim_client WITH (security_invoker = true) AS
            SELECT client_code, client_name, country_code, service_team, credit_limit, credit_limit_unit FROM silver.client_accounts;
        CREATE VIEW gold.client_contact WITH (security_invoker = true) AS
            SELECT client_code, contact_name, contact_email FROM silver.client_accounts;
        CREATE VIEW gold.release_values WITH (security_invoker = true) AS
            SELECT release_code, release_time, release_field, release_field_value FROM silver.numeric_economic_data;").await;
    let owner = column(&svc, "SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = 'silver.client_accounts'::regclass").await;
    assert_eq!(
        owner,
        [format!("{}pipeline_macro_warehouse", s.db.prefix)],
        "tables belong to the pipeline role"
    );
    let second = qdp_access::apply(&s.policy).await.unwrap();
    assert!(
        second.postgres.iter().any(|c| c
            .what
            .contains("row-level security on silver.client_accounts")),
        "{second:?}"
    );
    Some(s)
}

#[tokio::test]
async fn each_user_can_do_exactly_what_the_policy_says() {
    let Some(s) = setup().await else { return };
    // Idempotent: nothing left to do, and apply says so.
    assert!(qdp_access::plan(&s.policy).await.unwrap().is_empty());
    assert!(qdp_access::apply(&s.policy).await.unwrap().is_empty());

    let alice = s.db.login("alice", s.pw("alice")).await;
    let bob = s.db.login("bob", s.pw("bob")).await;
    let frank = s.db.login("frank", s.pw("frank")).await;

    // Analysts read gold, write nothing in gold or silver.
    assert_eq!(
        column(&alice, "SELECT count(*)::text FROM gold.release_values").await,
        ["0"]
    );
    for sql in [
        "INSERT INTO gold.curve_points VALUES ('x', 1, 1)",
        "UPDATE gold.curve_points SET value = 0",
        "DELETE FROM gold.curve_points",
        "CREATE TABLE gold.mine (a int)",
        "CREATE TABLE silver.mine (a int)",
        "INSERT INTO silver.numeric_economic_data (source_system_name) VALUES ('x')",
        "DELETE FROM silver.client_accounts",
    ] {
        denied(&alice, "alice", sql).await;
    }
    // Their own mart: read and write; another team's: nothing.
    ok(&alice, "alice", "CREATE TABLE mart_energy_desk.spreads (a int); INSERT INTO mart_energy_desk.spreads VALUES (1)").await;
    assert_eq!(
        column(&alice, "SELECT a::text FROM mart_energy_desk.spreads").await,
        ["1"]
    );
    denied(&bob, "bob", "SELECT * FROM mart_energy_desk.spreads").await;
    denied(&bob, "bob", "CREATE TABLE mart_energy_desk.x (a int)").await;
    denied(&alice, "alice", "CREATE TABLE mart_freight_desk.x (a int)").await;

    // PII: no contact columns without the grant, through silver or gold.
    denied(
        &alice,
        "alice",
        "SELECT contact_email FROM silver.client_accounts",
    )
    .await;
    denied(
        &alice,
        "alice",
        "SELECT client_code FROM gold.client_contact",
    )
    .await;
    assert_eq!(
        column(
            &frank,
            "SELECT contact_email FROM gold.client_contact ORDER BY 1"
        )
        .await
        .len(),
        4
    );

    // Rows: each desk sees its own clients; a value naming no team hides the row.
    let sql = "SELECT client_code FROM gold.dim_client ORDER BY 1";
    assert_eq!(column(&alice, sql).await, ["C001", "C002"]);
    assert_eq!(column(&bob, sql).await, ["C003"]);
    assert_eq!(column(&frank, sql).await, ["C001", "C002", "C003", "C004"]);
    assert_eq!(
        column(&bob, "SELECT client_code FROM silver.client_accounts").await,
        ["C003"]
    );

    // Pipelines: their tables only.
    let svc = s.db.login("svc-warehouse", s.pw("svc-warehouse")).await;
    ok(
        &svc,
        "svc-warehouse",
        "UPDATE silver.client_accounts SET credit_limit = credit_limit",
    )
    .await;
    assert_eq!(
        column(&svc, "SELECT count(*)::text FROM silver.client_accounts").await,
        ["4"],
        "writers see every row"
    );
    denied(
        &svc,
        "svc-warehouse",
        "INSERT INTO mart_energy_desk.spreads VALUES (2)",
    )
    .await;
    denied(
        &svc,
        "svc-warehouse",
        "CREATE TABLE mart_energy_desk.x (a int)",
    )
    .await;
    let curves = s.db.login("svc-curves", s.pw("svc-curves")).await;
    ok(
        &curves,
        "svc-curves",
        "INSERT INTO gold.curve_points VALUES ('brent', 1, 80.5)",
    )
    .await;
    denied(&curves, "svc-curves", "CREATE TABLE gold.curve_new (a int)").await;
    denied(
        &curves,
        "svc-curves",
        "INSERT INTO silver.numeric_economic_data (source_system_name) VALUES ('x')",
    )
    .await;
    denied(
        &curves,
        "svc-curves",
        "INSERT INTO mart_energy_desk.spreads VALUES (3)",
    )
    .await;

    // Audit: statement logging per user, from their roles.
    assert_eq!(column(&alice, "SHOW log_statement").await, ["ddl"]);
    assert_eq!(column(&frank, "SHOW log_statement").await, ["all"]);
    assert_eq!(column(&curves, "SHOW log_statement").await, ["mod"]);

    // Passwords: stored as verifiers of the policy's passwords, never plaintext.
    let admin = s.db.admin().await;
    let stored = column(
        &admin,
        &format!(
            "SELECT rolpassword FROM pg_authid WHERE rolname = '{}alice'",
            s.db.prefix
        ),
    )
    .await;
    assert!(stored[0].starts_with("SCRAM-SHA-256$"));
    assert!(
        password::matches(&stored[0], s.pw("alice")) && !password::matches(&stored[0], s.pw("bob"))
    );
    let plan = qdp_access::plan(&s.policy).await.unwrap();
    assert!(plan.is_empty());
}

#[tokio::test]
async fn drift_is_reported_and_repaired() {
    let Some(s) = setup().await else { return };
    let admin = s.db.admin().await;
    let p = &s.db.prefix;
    // A grant by hand, an extra member, a dropped role, a dropped policy, a changed password.
    admin
        .batch_execute(&format!(
            "
        GRANT SELECT ON silver.client_accounts TO {p}alice;
        GRANT {p}role_steward TO {p}bob;
        REVOKE ALL ON ALL TABLES IN SCHEMA gold FROM {p}role_analyst;
        DROP OWNED BY {p}team_freight_desk; DROP ROLE {p}team_freight_desk;
        DROP POLICY {p}team_rows ON silver.client_accounts;
        ALTER POLICY {p}all_rows ON silver.client_accounts USING (service_team IS NOT NULL);
        ALTER ROLE {p}frank PASSWORD 'changed-by-hand';"
        ))
        .await
        .unwrap();
    let drift = qdp_access::diff(&s.policy).await.unwrap();
    let lines: Vec<String> = drift.changes().map(|c| c.to_string()).collect();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(
        has(&format!(
            "extra SELECT on silver.client_accounts to {p}alice"
        )),
        "{lines:#?}"
    );
    assert!(
        has(&format!("extra {p}bob is a member of {p}role_steward")),
        "{lines:#?}"
    );
    assert!(
        has(&format!("missing role {p}team_freight_desk")),
        "{lines:#?}"
    );
    assert!(
        has(&format!(
            "missing SELECT on gold.dim_client to {p}role_analyst"
        )),
        "{lines:#?}"
    );
    assert!(
        has(&format!(
            "missing policy {p}team_rows on silver.client_accounts"
        )),
        "{lines:#?}"
    );
    assert!(has(&format!("changed password of {p}frank")), "{lines:#?}");
    assert!(
        has(&format!(
            "changed policy {p}all_rows on silver.client_accounts (now: edited by hand)"
        )),
        "{lines:#?}"
    );
    // The plan prints no password and no verifier.
    for st in drift.changes().flat_map(|c| &c.statements) {
        assert!(
            !st.shown.contains(s.pw("frank")) && !st.shown.contains("SCRAM-SHA-256$"),
            "{}",
            st.shown
        );
    }

    let repaired = qdp_access::apply(&s.policy).await.unwrap();
    assert!(!repaired.is_empty());
    assert!(
        qdp_access::diff(&s.policy).await.unwrap().is_empty(),
        "apply repaired the drift"
    );
    let bob = s.db.login("bob", s.pw("bob")).await;
    assert_eq!(
        column(&bob, "SELECT client_code FROM gold.dim_client").await,
        ["C003"]
    );
    denied(
        &bob,
        "bob",
        "SELECT contact_email FROM silver.client_accounts",
    )
    .await;
    let alice = s.db.login("alice", s.pw("alice")).await;
    denied(
        &alice,
        "alice",
        "SELECT contact_email FROM silver.client_accounts",
    )
    .await;
}
