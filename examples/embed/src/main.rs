//! A service that embeds the qdp runtime: it registers its own in-process
//! source and sink (the same traits plugins implement), builds a pipeline in
//! code, runs it, and reads the runtime's metrics and health afterwards.
//!
//! Run it with `cargo run -p qdp-embed-example`.

use qdp_core::config::BatchPolicy;
use qdp_core::{PipelineBuilder, Registry};
use qdp_sdk::arrow::array::{Array, Float64Array, RecordBatch, StringArray};
use qdp_sdk::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use qdp_sdk::{
    Accepts, Batch, Checkpoint, Context, Describe, OutputDecl, PluginError, Result, Sink, Source,
    SourceBatch,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, Mutex};

/// The service's own feed: quotes from an internal pricing engine.
struct PricingFeed {
    rounds: u64,
    next: u64,
    schema: SchemaRef,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct PricingOptions {
    /// How many rounds of quotes to publish.
    rounds: u64,
}

impl Describe for PricingFeed {
    type Options = PricingOptions;
    const NAME: &'static str = "pricing_feed";
    const VERSION: &'static str = "1.0.0";
}

impl Source for PricingFeed {
    fn new(o: PricingOptions, _: &Context) -> Result<Self> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("symbol", DataType::Utf8, false),
            Field::new("mid", DataType::Float64, false),
        ]));
        Ok(Self {
            rounds: o.rounds,
            next: 0,
            schema,
        })
    }
    fn outputs(&self) -> Vec<OutputDecl> {
        vec![OutputDecl::main("internal_quotes", self.schema.clone())]
    }
    async fn start(&mut self, ck: Option<Checkpoint>) -> Result<()> {
        self.next = match ck {
            Some(c) => u64::from_le_bytes(
                c.0.try_into()
                    .map_err(|_| PluginError::config("bad checkpoint"))?,
            ),
            None => 0,
        };
        Ok(())
    }
    async fn next_batch(&mut self) -> Result<Option<SourceBatch>> {
        if self.next >= self.rounds {
            return Ok(None);
        }
        let r = self.next as f64;
        let data = RecordBatch::try_new(
            self.schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["CLZ6", "NGZ6", "HOZ6"])),
                Arc::new(Float64Array::from(vec![
                    70.0 + r * 0.01,
                    3.0 + r * 0.001,
                    2.4 + r * 0.0001,
                ])),
            ],
        )?;
        self.next += 1;
        Ok(Some(SourceBatch {
            category: "internal_quotes".into(),
            source_system: "pricing_engine".into(),
            data,
            checkpoint: Checkpoint(self.next.to_le_bytes().to_vec()),
            positions: Vec::new(),
        }))
    }
}

/// The service's in-process sink: keeps the latest mid per symbol in memory.
static LATEST: LazyLock<Mutex<BTreeMap<String, f64>>> = LazyLock::new(Default::default);

struct LatestMids;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct NoOptions {}

impl Describe for LatestMids {
    type Options = NoOptions;
    const NAME: &'static str = "latest_mids";
    const VERSION: &'static str = "1.0.0";
    const CAPABILITIES: u64 = qdp_sdk::capabilities::IDEMPOTENT_WRITE;
}

impl Sink for LatestMids {
    fn new(_: NoOptions, _: &Context) -> Result<Self> {
        Ok(Self)
    }
    fn accepts(&self) -> Accepts {
        Accepts::Categories(vec!["internal_quotes".into()])
    }
    async fn write(&mut self, batches: &[Batch]) -> Result<()> {
        let mut latest = LATEST
            .lock()
            .map_err(|_| PluginError::internal("state lock poisoned"))?;
        for b in batches {
            let sym = b
                .data
                .column(0)
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| PluginError::internal("symbol is not Utf8"))?;
            let mid = b
                .data
                .column(1)
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| PluginError::internal("mid is not Float64"))?;
            for i in 0..b.data.num_rows() {
                if sym.is_valid(i) && mid.is_valid(i) {
                    latest.insert(sym.value(i).to_string(), mid.value(i));
                }
            }
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let mut registry = Registry::with_builtins();
    registry.register_source::<PricingFeed>();
    registry.register_sink::<LatestMids>();
    let state = std::env::temp_dir().join(format!("qdp-embed-example-{}", std::process::id()));
    let pipeline = PipelineBuilder::new("embedded", &state)
        .source(
            "quotes",
            "pricing_feed",
            serde_json::json!({ "rounds": 1000 }),
        )
        .sink(
            "latest",
            "latest_mids",
            &["quotes"],
            serde_json::json!({}),
            BatchPolicy::default(),
        )
        .build(registry)
        .await?;
    let metrics = pipeline.metrics();
    let report = pipeline.run_until(std::future::pending()).await?;
    let _ = std::fs::remove_dir_all(&state);
    println!("ran in {:?}; health: {}", report.elapsed, metrics.health());
    for (symbol, mid) in LATEST.lock().map_err(|_| "state lock poisoned")?.iter() {
        println!("{symbol}: {mid:.4}");
    }
    Ok(())
}
