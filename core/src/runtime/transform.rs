//! The task that drives one transform: receive, process, route by port.

use super::TaskEnv;
use super::envelope::{Envelope, send_all};
use super::supervise::{Action, Supervisor};
use crate::component::{DynTransform, Instance};
use crate::metrics::State;
use qdp_sdk::{Batch, BatchMeta, OutputDecl, PluginError, Result};
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use tokio::sync::mpsc::{Receiver, Sender};

/// Consumers of each output port (`None` = main).
pub type Routes = HashMap<Option<String>, Vec<Sender<Envelope>>>;

/// Runs a transform until its inputs close.
pub async fn run_transform(
    env: TaskEnv,
    first: Box<dyn DynTransform>,
    declared: Vec<OutputDecl>,
    mut input: Receiver<Envelope>,
    routes: Routes,
) -> Result<()> {
    let id = env.config.id.clone();
    let m = env.metrics.clone();
    let mut sup = Supervisor::new(&id, env.config.restart.clone(), m.clone());
    let mut t = first;
    m.set_state(State::Running);
    while let Some(inp) = input.recv().await {
        m.queue_depth.store(input.len() as i64, Relaxed);
        m.rows_in
            .fetch_add(inp.batch.data.num_rows() as u64, Relaxed);
        m.bytes_in.fetch_add(inp.bytes() as u64, Relaxed);
        m.batches_in.fetch_add(1, Relaxed);
        let emits = loop {
            let processed = t.process(inp.batch.clone()).await.and_then(|emits| {
                for e in &emits {
                    super::conform::check(&id, &declared, e.port.as_deref(), &e.category, &e.data)?;
                }
                Ok(emits)
            });
            match processed {
                Ok(e) => {
                    sup.succeeded();
                    break e;
                }
                Err(e) => {
                    if sup.failed(&e).await? == Action::Recreate {
                        t = match env.ty.instantiate(&env.config.options, &env.context)? {
                            Instance::Transform(t) => t,
                            _ => return Err(PluginError::internal("component is not a transform")),
                        };
                    }
                }
            }
        };
        for e in emits {
            let rows = e.data.num_rows() as u64;
            if e.port.as_deref() == Some("unqualified") {
                m.rows_unqualified.fetch_add(rows, Relaxed);
            }
            let origin = &inp.batch.meta.origin;
            env.reconcile
                .transform_emitted(&id, origin, &e.port, &e.category, rows);
            let out = Envelope {
                batch: Batch {
                    data: e.data,
                    meta: BatchMeta {
                        category: e.category,
                        producer: id.clone(),
                        // Row runs no longer line up with the source's.
                        positions: Vec::new(),
                        ..inp.batch.meta.clone()
                    },
                },
                acks: inp.acks.clone(),
                received: inp.received,
                port: e.port.clone(),
            };
            match routes.get(&e.port) {
                Some(targets) if !targets.is_empty() => {
                    m.rows_out.fetch_add(rows, Relaxed);
                    m.bytes_out.fetch_add(out.bytes() as u64, Relaxed);
                    m.batches_out.fetch_add(1, Relaxed);
                    if !send_all(targets, out).await {
                        return Err(PluginError::internal("a downstream component stopped")
                            .with_context("component", &id));
                    }
                }
                _ => {
                    // Declared as a warning by the planner; counted here.
                    m.rows_unread.fetch_add(rows, Relaxed);
                    out.settle();
                }
            }
        }
        inp.settle();
    }
    m.set_state(State::Stopped);
    Ok(())
}
