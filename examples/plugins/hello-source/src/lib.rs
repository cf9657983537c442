//! The smallest useful third-party qdp plugin: a source that counts.
//!
//! It emits `count` rows of `{n: Int64, greeting: Utf8}` in batches of
//! `batch_rows`, resumes from its checkpoint (the next `n`), and then ends.
//! Copy this crate to start a new connector.

#![forbid(unsafe_code)]

use qdp_sdk::arrow::array::{Int64Array, RecordBatch, StringArray};
use qdp_sdk::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use qdp_sdk::{
    Checkpoint, Context, Describe, OutputDecl, PluginError, Result, Source, SourceBatch,
};
use serde::Deserialize;
use std::sync::Arc;

/// Options of the `hello` source.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HelloOptions {
    /// How many rows to emit in total.
    pub count: u64,
    /// Rows per batch.
    #[serde(default = "default_batch_rows")]
    pub batch_rows: u64,
    /// The greeting written in every row.
    #[serde(default = "default_greeting")]
    pub greeting: String,
}

fn default_batch_rows() -> u64 {
    100
}

fn default_greeting() -> String {
    "hello".into()
}

/// Counts from 0 to `count`, one batch at a time.
pub struct Hello {
    options: HelloOptions,
    next: u64,
    schema: SchemaRef,
}

impl Describe for Hello {
    type Options = HelloOptions;
    const NAME: &'static str = "hello";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CAPABILITIES: u64 = qdp_sdk::capabilities::RESUME
        | qdp_sdk::capabilities::DETERMINISTIC_REPLAY
        | qdp_sdk::capabilities::FINITE;
}

impl Source for Hello {
    fn new(options: HelloOptions, _ctx: &Context) -> Result<Self> {
        if options.batch_rows == 0 {
            return Err(PluginError::config("batch_rows must be at least 1"));
        }
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("greeting", DataType::Utf8, false),
        ]));
        Ok(Self {
            options,
            next: 0,
            schema,
        })
    }

    fn outputs(&self) -> Vec<OutputDecl> {
        vec![OutputDecl::main("hello_counts", self.schema.clone())]
    }

    async fn start(&mut self, checkpoint: Option<Checkpoint>) -> Result<()> {
        self.next = match checkpoint {
            None => 0,
            Some(ck) => {
                let bytes: [u8; 8] = ck
                    .as_bytes()
                    .try_into()
                    .map_err(|_| PluginError::config("hello checkpoint must be 8 bytes"))?;
                u64::from_le_bytes(bytes)
            }
        };
        Ok(())
    }

    async fn next_batch(&mut self) -> Result<Option<SourceBatch>> {
        if self.next >= self.options.count {
            return Ok(None);
        }
        let end = (self.next + self.options.batch_rows).min(self.options.count);
        let n: Vec<i64> = (self.next..end).map(|v| v as i64).collect();
        let greeting = vec![self.options.greeting.as_str(); n.len()];
        let data = RecordBatch::try_new(
            self.schema.clone(),
            vec![
                Arc::new(Int64Array::from(n)),
                Arc::new(StringArray::from(greeting)),
            ],
        )?;
        self.next = end;
        Ok(Some(SourceBatch {
            category: "hello_counts".into(),
            source_system: "hello".into(),
            data,
            checkpoint: Checkpoint(end.to_le_bytes().to_vec()),
            positions: Vec::new(),
        }))
    }
}

qdp_sdk::export_source!(Hello);
