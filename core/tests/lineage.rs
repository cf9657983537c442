//! OpenLineage run events reach a real HTTP endpoint on loopback and a file,
//! in the 2-0-2 RunEvent shape.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use qdp_core::config::{LineageConfig, LineageTarget};
use qdp_core::lineage::{Dataset, RunLineage};
use serde_json::Value;

fn sets() -> (Vec<Dataset>, Vec<Dataset>) {
    let d = |ns: &str, name: &str| Dataset {
        namespace: ns.into(),
        name: name.into(),
    };
    (
        vec![d("https://api.eia.gov", "v2/petroleum/stoc/wstk")],
        vec![
            d(
                "postgres://db:5432",
                "warehouse.silver.numeric_economic_data",
            ),
            d(
                "postgres://db:5432",
                "warehouse.gold.us_crude_balance_weekly",
            ),
        ],
    )
}

async fn endpoint() -> (String, tokio::sync::mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/api/v1/lineage",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/api/v1/lineage"), rx)
}

#[tokio::test]
async fn start_and_complete_reach_the_endpoint_with_datasets() {
    let (url, mut rx) = endpoint().await;
    let (inputs, outputs) = sets();
    let config = LineageConfig {
        target: LineageTarget::Http(url),
        namespace: "trading".into(),
    };
    let run = RunLineage::new(config, "macro-warehouse", inputs, outputs);
    run.start().await;
    run.complete().await;
    let start = rx.recv().await.unwrap();
    let complete = rx.recv().await.unwrap();
    assert_eq!(start["eventType"], "START");
    assert_eq!(complete["eventType"], "COMPLETE");
    for e in [&start, &complete] {
        assert_eq!(e["run"]["runId"], run.run_id());
        assert_eq!(e["job"]["namespace"], "trading");
        assert_eq!(e["job"]["name"], "macro-warehouse");
        assert_eq!(e["inputs"][0]["namespace"], "https://api.eia.gov");
        assert_eq!(e["outputs"].as_array().unwrap().len(), 2);
        assert!(e["schemaURL"].as_str().unwrap().contains("2-0-2"));
        assert!(chrono::DateTime::parse_from_rfc3339(e["eventTime"].as_str().unwrap()).is_ok());
    }
    assert_eq!(
        uuid::Uuid::parse_str(run.run_id())
            .unwrap()
            .get_version_num(),
        4
    );
}

#[tokio::test]
async fn a_failed_run_is_appended_to_the_file_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lineage/events.ndjson");
    let (inputs, outputs) = sets();
    let config = LineageConfig {
        target: LineageTarget::File(file.clone()),
        namespace: "qdp".into(),
    };
    let run = RunLineage::new(config, "demo", inputs, outputs);
    run.start().await;
    run.fail("sink `warehouse`: connection refused").await;
    let text = std::fs::read_to_string(&file).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["eventType"], "FAIL");
    assert_eq!(
        events[1]["run"]["facets"]["errorMessage"]["message"],
        "sink `warehouse`: connection refused"
    );
}
