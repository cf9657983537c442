//! `postgres.pipelines`: personal data in tables not named after a category
//! (the client list's bronze copy and its rejects) is column-protected on a
//! real warehouse, because the pipelines' catalogue says where it lands.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Scratch, column, denied, ok};
use qdp_access::Policy;
use std::collections::HashMap;
use std::path::Path;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");

const POLICY: &str = r#"
[postgres]
url = "${ADMIN_URL}"
role_prefix = "${PREFIX}"
schemas = ["bronze", "silver", "gold"]
PIPELINES

[roles.analyst]
reads = ["bronze.*", "silver.*", "gold.*"]

[roles.steward]
reads = ["bronze.*", "silver.*", "gold.*"]
pii = true

[pipelines.macro-warehouse]
writes = ["bronze.*", "silver.*", "gold.*"]

[users.alice]
roles = ["analyst"]
password = { env = "PW_ALICE" }

[users.frank]
roles = ["steward"]
password = { env = "PW_FRANK" }
"#;

/// The tables the macro pipeline's client list lands in, with rows.
const WAREHOUSE: &str = "
    CREATE SCHEMA bronze; CREATE SCHEMA silver; CREATE SCHEMA gold;
    CREATE TABLE bronze.clients (client_id text, client_name text, service_team text,
        contact_name text, contact_email text);
    CREATE TABLE silver.bronze_clients_unqualified (client_id text, client_name text,
        contact_name text, contact_email text, reject_reason text);
    CREATE TABLE silver.client_accounts (client_code text, client_name text,
        contact_name text, contact_email text);
    CREATE VIEW gold.client_contact WITH (security_invoker = true) AS
        SELECT client_code, contact_name, contact_email FROM silver.client_accounts;
    INSERT INTO bronze.clients VALUES ('C001', 'Nordic Refining', 'energy-desk', 'Ola N', 'ola@nr.example');
    INSERT INTO silver.bronze_clients_unqualified VALUES
        ('C009', 'Bad Row Ltd', 'Kim B', 'kim@br.example', 'credit_limit_usd: not a number');
    INSERT INTO silver.client_accounts VALUES ('C001', 'Nordic Refining', 'Ola N', 'ola@nr.example');";

/// The policy text, with `pipelines` set or not.
fn text(pipelines: bool) -> String {
    let line = if pipelines {
        "pipelines = [\"pipelines/*.toml\"]"
    } else {
        ""
    };
    POLICY.replace("PIPELINES", line)
}

#[tokio::test]
async fn catalogue_pii_is_column_protected_outside_category_tables() {
    let Some(db) = Scratch::new().await else {
        return;
    };
    // The real macro pipeline, beside the policy; its gold SQL from the checkout.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pipelines")).unwrap();
    let pipeline =
        std::fs::read_to_string(Path::new(EXAMPLES).join("pipelines/macro-warehouse.toml"))
            .unwrap()
            .replace(
                "${QDP_GOLD_SQL:-examples/warehouse}",
                &format!("{EXAMPLES}/warehouse"),
            );
    std::fs::write(dir.path().join("pipelines/macro-warehouse.toml"), pipeline).unwrap();
    let env: HashMap<String, String> = [
        ("ADMIN_URL", db.admin_url()),
        ("PREFIX", db.prefix.clone()),
        ("PW_ALICE", format!("pw-a-{}", rand::random::<u32>())),
        ("PW_FRANK", format!("pw-f-{}", rand::random::<u32>())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let parse = |t: &str| {
        Policy::parse(&dir.path().join("access.toml"), t, &|k| env.get(k).cloned())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    db.admin().await.batch_execute(WAREHOUSE).await.unwrap();
    let p = &db.prefix;
    let analyst = format!("{p}role_analyst");

    // Without `pipelines`, only category tables in `pii_schemas` are guarded:
    // the analyst would read the bronze copy and the rejects whole.
    let old = qdp_access::plan(&parse(&text(false))).await.unwrap();
    let whats: Vec<&str> = old.postgres.iter().map(|c| c.what.as_str()).collect();
    for t in ["bronze.clients", "silver.bronze_clients_unqualified"] {
        assert!(
            whats.contains(&format!("SELECT on {t} to {analyst}").as_str()),
            "{whats:#?}"
        );
    }

    let policy = parse(&text(true));
    let plan = qdp_access::plan(&policy).await.unwrap();
    let whats: Vec<&str> = plan.postgres.iter().map(|c| c.what.as_str()).collect();
    let has = |w: String| whats.contains(&w.as_str());
    for t in [
        "bronze.clients",
        "silver.bronze_clients_unqualified",
        "silver.client_accounts",
        "gold.client_contact",
    ] {
        assert!(
            !has(format!("SELECT on {t} to {analyst}")),
            "{t}: {whats:#?}"
        );
        assert!(
            !has(format!("SELECT (contact_email) on {t} to {analyst}")),
            "{t}: {whats:#?}"
        );
        assert!(
            has(format!("SELECT on {t} to {p}role_steward")),
            "{t}: {whats:#?}"
        );
    }
    // Other columns stay readable, the view's included (defence in depth).
    assert!(has(format!(
        "SELECT (client_id) on bronze.clients to {analyst}"
    )));
    assert!(has(format!(
        "SELECT (client_code) on gold.client_contact to {analyst}"
    )));
    // A bronze table created later is not readable whole by the analyst.
    let defaults = |schema: &str, role: &str| {
        has(format!(
            "default SELECT on tables {p}pipeline_macro_warehouse creates in {schema} to {role}"
        ))
    };
    assert!(!defaults("bronze", &analyst), "{whats:#?}");
    assert!(
        defaults("bronze", &format!("{p}role_steward")),
        "{whats:#?}"
    );
    assert!(
        defaults("gold", &analyst),
        "gold views enforce through silver: {whats:#?}"
    );

    assert!(!qdp_access::apply(&policy).await.unwrap().is_empty());
    assert!(
        qdp_access::apply(&policy).await.unwrap().is_empty(),
        "a second apply changes nothing"
    );
    assert!(
        qdp_access::diff(&policy).await.unwrap().is_empty(),
        "no drift"
    );

    let alice = db.login("alice", &env["PW_ALICE"]).await;
    let frank = db.login("frank", &env["PW_FRANK"]).await;
    for t in ["bronze.clients", "silver.bronze_clients_unqualified"] {
        denied(&alice, "alice", &format!("SELECT contact_email FROM {t}")).await;
        denied(&alice, "alice", &format!("SELECT contact_name FROM {t}")).await;
        denied(&alice, "alice", &format!("SELECT * FROM {t}")).await;
        ok(&frank, "frank", &format!("SELECT contact_email FROM {t}")).await;
    }
    assert_eq!(
        column(
            &alice,
            "SELECT client_id || ' ' || reject_reason FROM silver.bronze_clients_unqualified"
        )
        .await,
        ["C009 credit_limit_usd: not a number"]
    );
    assert_eq!(
        column(
            &frank,
            "SELECT contact_email FROM silver.bronze_clients_unqualified"
        )
        .await,
        ["kim@br.example"]
    );
    assert_eq!(
        column(&alice, "SELECT client_name FROM bronze.clients").await,
        ["Nordic Refining"]
    );
    denied(
        &alice,
        "alice",
        "SELECT contact_email FROM gold.client_contact",
    )
    .await;
    assert_eq!(
        column(&frank, "SELECT contact_email FROM gold.client_contact").await,
        ["ola@nr.example"]
    );
}
