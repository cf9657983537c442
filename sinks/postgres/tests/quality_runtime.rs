//! A tripped gate through the runtime: the pipeline fails with the gate's
//! reason, the source's checkpoint is not stored (nothing is lost), and a
//! run with the threshold raised loads the same rows and stores it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use qdp_core::runtime::state::CheckpointStore;
use qdp_core::{Pipeline, Registry};
use qdp_sdk::schema::registry;
use qdp_sdk::{Checkpoint, Context, Describe, OutputDecl, Result, Source, SourceBatch};
use qdp_sink_postgres::PostgresSink;
use std::collections::VecDeque;

/// One pass of a release: 3 numeric rows and 2 rejects, then exhausted;
/// nothing after its last checkpoint.
struct Release {
    queue: VecDeque<SourceBatch>,
}

#[derive(serde::Deserialize, qdp_sdk::schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct NoOptions {}

impl Describe for Release {
    type Options = NoOptions;
    const NAME: &'static str = "test_release";
    const VERSION: &'static str = "0.0.0";
    const CAPABILITIES: u64 = qdp_sdk::capabilities::RESUME | qdp_sdk::capabilities::FINITE;
}

impl Source for Release {
    fn new(_: NoOptions, _: &Context) -> Result<Self> {
        Ok(Self {
            queue: VecDeque::new(),
        })
    }

    fn outputs(&self) -> Vec<OutputDecl> {
        let numeric = registry().get("numeric_economic_data").unwrap();
        vec![
            OutputDecl::main("numeric_economic_data", numeric.arrow_schema()),
            OutputDecl {
                port: Some("unqualified".into()),
                category: "numeric_economic_data_unqualified".into(),
                schema: None,
            },
        ]
    }

    async fn start(&mut self, checkpoint: Option<Checkpoint>) -> Result<()> {
        if checkpoint.is_some() {
            return Ok(());
        }
        let rows = vec![
            num(
                "eia_api_v2",
                "WCESTUS1",
                "2026-04-24",
                REL_0424,
                459495.0,
                "1000_barrels",
            ),
            num(
                "eia_api_v2",
                "WGTSTUS1",
                "2026-04-24",
                REL_0424,
                222299.0,
                "1000_barrels",
            ),
            num(
                "eia_api_v2",
                "WDISTUS1",
                "2026-04-24",
                REL_0424,
                102344.0,
                "1000_barrels",
            ),
        ];
        let rejects = text_batch(
            "numeric_economic_data_unqualified",
            "probe",
            1,
            &[
                ("release_field", vec![Some("WCRFPUS2"), Some("WCRNTUS2")]),
                (
                    "unqualified_reason",
                    vec![Some("not a number"), Some("not a number")],
                ),
            ],
        );
        for (i, b) in [numeric(&rows, 0), rejects].into_iter().enumerate() {
            self.queue.push_back(SourceBatch {
                category: b.meta.category,
                source_system: "eia_api_v2".into(),
                data: b.data,
                checkpoint: Checkpoint(vec![i as u8 + 1]),
                positions: Vec::new(),
            });
        }
        Ok(())
    }

    async fn next_batch(&mut self) -> Result<Option<SourceBatch>> {
        Ok(self.queue.pop_front())
    }
}

async fn run(
    db: &TempDb,
    data_dir: &std::path::Path,
    max_ratio: f64,
) -> Result<(), qdp_core::Error> {
    let toml = format!(
        r#"
[pipeline]
name = "quality-e2e"
data_dir = "{dir}"
shutdown_timeout = "10s"

[sources.probe]
type = "test_release"

[sinks.warehouse]
type = "postgres"
url = "{url}"
inputs = ["probe", "probe.unqualified"]
batch = {{ max_wait = "500ms" }}
restart = {{ max_restarts = 1, backoff_initial = "10ms", backoff_max = "20ms" }}

[sinks.warehouse.quality]
max_unqualified_ratio = {max_ratio}
"#,
        dir = data_dir.display(),
        url = db.url()
    );
    let mut reg = Registry::with_builtins();
    reg.register_source::<Release>();
    reg.register_sink::<PostgresSink>();
    let p = Pipeline::from_toml_str("quality-e2e.toml", &toml, reg).await?;
    p.run_until(std::future::pending()).await.map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_gate_stops_the_run_and_keeps_the_checkpoint_back() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let e = run(&db, dir.path(), 0.2).await.unwrap_err().to_string();
    assert!(
        e.contains("data-quality gate failed") && e.contains("ratio 0.400"),
        "{e}"
    );
    let store = CheckpointStore::new(dir.path());
    assert_eq!(
        store.load("probe").unwrap(),
        None,
        "the checkpoint moved past rows that were not loaded"
    );
    assert_eq!(db.count("silver.numeric_economic_data").await, 0);
    let failed = db.texts("select pipeline || ' ' || component || ' ' || attempts from ops.load_quality where status = 'failed'").await;
    // The runtime retried once (max_restarts = 1): one row, two attempts.
    assert_eq!(failed, vec!["quality-e2e warehouse 2"]);

    run(&db, dir.path(), 0.5).await.unwrap();
    assert_eq!(db.count("silver.numeric_economic_data").await, 3);
    assert_eq!(
        db.count("silver.numeric_economic_data_unqualified").await,
        2
    );
    let (_, cp) = store
        .load("probe")
        .unwrap()
        .expect("no checkpoint after the load");
    assert_eq!(cp, Checkpoint(vec![2]));
}
