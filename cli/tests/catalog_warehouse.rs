//! The catalogue against a real warehouse: `qdp demo-macro` loads the
//! bundled EIA/CFTC samples and the client list into a throwaway database,
//! then `qdp catalog build --postgres` must describe every table and view
//! that database holds in bronze, silver, gold and ops, each with a lineage
//! path back to a source system, and load itself into schema `catalog`
//! (twice: the second load replaces the first).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ok, qdp};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

const ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    c
}

/// Drops the test's database however the test ends.
struct Database(String);

impl Drop for Database {
    fn drop(&mut self) {
        let name = self.0.clone();
        runtime().block_on(async move {
            let c = connect(ADMIN).await;
            c.batch_execute(&format!("drop database if exists {name} with (force)"))
                .await
                .unwrap();
        });
    }
}

fn url_of(db: &str) -> String {
    format!("postgres://postgres@127.0.0.1:5432/{db}")
}

/// Whether `node` has a source system upstream in the catalogue's edges.
fn path_to_source(cat: &Value, node: &str) -> Option<Vec<String>> {
    let kinds: BTreeMap<&str, &str> = cat["nodes"]
        .as_array()?
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n["kind"].as_str().unwrap()))
        .collect();
    let mut up: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in cat["edges"].as_array()? {
        up.entry(e["to"].as_str().unwrap())
            .or_default()
            .push(e["from"].as_str().unwrap());
    }
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut seen = BTreeSet::from([node]);
    let mut q = VecDeque::from([node]);
    while let Some(n) = q.pop_front() {
        if kinds.get(n) == Some(&"source_system") {
            let mut path = vec![n.to_string()];
            let mut cur = n;
            while let Some(p) = prev.get(cur) {
                path.push(p.to_string());
                cur = p;
            }
            return Some(path);
        }
        for m in up.get(n).into_iter().flatten() {
            if seen.insert(m) {
                prev.insert(m, n);
                q.push_back(m);
            }
        }
    }
    None
}

#[test]
fn every_warehouse_relation_is_catalogued_with_its_lineage() {
    if std::net::TcpStream::connect("127.0.0.1:5432").is_err() {
        let msg = "Postgres at 127.0.0.1:5432 is not available";
        assert!(
            !qdp_test_services::required(),
            "{msg} (QDP_REQUIRE_SERVICES=1)"
        );
        eprintln!("SKIPPED: {msg}");
        return;
    }
    let db = format!("qdp_catalog_{}", rand::random::<u32>());
    let _guard = Database(db.clone());
    let dir = tempfile::tempdir().unwrap();
    ok(qdp(dir.path())
        .args(["demo-macro", "--postgres", ADMIN, "--database", &db])
        .output()
        .unwrap());
    let out = dir.path().join("catalog");
    let url = url_of(&db);
    let mut printed = String::new();
    for _ in 0..2 {
        printed = ok(qdp(dir.path())
            .args(["catalog", "build", "--out"])
            .arg(&out)
            .args(["--postgres", &url])
            .output()
            .unwrap());
    }
    assert!(printed.contains("index.html"), "{printed}");
    let cat: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("catalog.json")).unwrap()).unwrap();

    runtime().block_on(async {
        let c = connect(&url).await;
        let rows = c
            .query(
                "select table_schema || '.' || table_name from information_schema.tables
                 where table_schema in ('bronze', 'silver', 'gold', 'ops')
                 union select schemaname || '.' || matviewname from pg_matviews
                 where schemaname in ('bronze', 'silver', 'gold', 'ops')",
                &[],
            )
            .await
            .unwrap();
        let relations: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        for must in [
            "silver.client_accounts",
            "gold.dim_client",
            "gold.client_contact",
            "bronze.clients",
            "ops.release_sla",
        ] {
            assert!(
                relations.iter().any(|r| r == must),
                "{must} not in the warehouse: {relations:?}"
            );
        }
        for rel in &relations {
            let d = cat["datasets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["store"] == "postgres" && d["name"] == rel.as_str())
                .unwrap_or_else(|| panic!("{rel} is in the warehouse but not in the catalogue"));
            let id = d["id"].as_str().unwrap();
            let path = path_to_source(&cat, id)
                .unwrap_or_else(|| panic!("{rel}: no lineage path to a source system"));
            assert!(path.len() >= 3, "{rel}: {path:?}");
        }

        // The catalogue in SQL: replaced, not appended, by the second load.
        let n = |sql: &'static str| {
            let c = &c;
            async move { c.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
        };
        let datasets =
            cat["datasets"].as_array().unwrap().len() + cat["categories"].as_array().unwrap().len();
        assert_eq!(
            n("select count(*) from catalog.datasets").await,
            datasets as i64
        );
        assert_eq!(
            n("select count(*) from catalog.lineage").await,
            cat["edges"].as_array().unwrap().len() as i64
        );
        assert_eq!(
            n("select count(*) from catalog.source_dictionary").await,
            cat["dictionary"].as_array().unwrap().len() as i64
        );
        assert_eq!(
            n("select count(*) from catalog.datasets where store = 'category_schema'").await,
            qdp_sdk::schema::registry().all().count() as i64
        );
        let pii = c
            .query(
                "select f.name, f.classification from catalog.fields f
                 join catalog.datasets d on d.id = f.dataset_id
                 where d.store = 'postgres' and d.name = 'silver.client_accounts' and f.pii
                 order by f.position",
                &[],
            )
            .await
            .unwrap();
        let pii: Vec<(String, String)> = pii.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(
            pii,
            vec![
                ("contact_name".into(), "pii".into()),
                ("contact_email".into(), "pii".into())
            ]
        );
        let from = c
            .query_one(
                "select source_from from catalog.source_dictionary
                 where category = 'client_accounts' and field = 'contact_email'",
                &[],
            )
            .await
            .unwrap();
        assert!(
            from.get::<_, String>(0).starts_with("column `"),
            "{:?}",
            from.get::<_, String>(0)
        );
    });
}
