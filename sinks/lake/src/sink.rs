//! The `lake` sink: every `raw_object` row becomes one immutable object.

use crate::config::LakeOptions;
use crate::store::{Store, Written};
use qdp_sdk::raw::{self, RAW_OBJECT};
use qdp_sdk::{Accepts, Batch, Context, Describe, PluginError, Result, Sink, capabilities};

/// The `lake` sink.
#[derive(Debug)]
pub struct LakeSink {
    store: Store,
    component: String,
}

impl Describe for LakeSink {
    type Options = LakeOptions;
    const NAME: &'static str = "lake";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CAPABILITIES: u64 = capabilities::IDEMPOTENT_WRITE;
}

impl Sink for LakeSink {
    fn new(options: LakeOptions, ctx: &Context) -> Result<Self> {
        Ok(Self {
            store: Store::new(&options)?,
            component: ctx.component_id.clone(),
        })
    }

    fn accepts(&self) -> Accepts {
        Accepts::Categories(vec![RAW_OBJECT.to_string()])
    }

    async fn open(&mut self) -> Result<()> {
        self.store.open()
    }

    /// Each object's hash is checked before it is written, and `Ok` comes
    /// only once every object of every batch is durable.
    async fn write(&mut self, batches: &[Batch]) -> Result<()> {
        let (mut created, mut existed) = (0usize, 0usize);
        for b in batches {
            if b.meta.category != RAW_OBJECT {
                return Err(PluginError::config(format!(
                    "the lake sink takes `{RAW_OBJECT}` only, got `{}` from `{}`: wire the source's raw_object port to it",
                    b.meta.category, b.meta.origin
                )));
            }
            for o in raw::from_batch(&b.data)? {
                match self.store.put(&o.lake_path(), &o.content).await? {
                    Written::Created => created += 1,
                    Written::Existed => existed += 1,
                }
            }
        }
        if created + existed > 0 {
            tracing::debug!(component = %self.component, created, existed, "lake objects");
        }
        Ok(())
    }
}
