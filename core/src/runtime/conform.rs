//! Checks that what a component emits matches what it declared.
//!
//! Sinks and the planner trust the declarations, so a batch that breaks
//! them (a plugin bug) is stopped here as an internal error: the component
//! is restarted from its last acknowledged checkpoint, and if it keeps
//! lying it is given up on. The batch is never forwarded and never
//! acknowledged, so nothing is lost: a fixed plugin replays it.

use qdp_sdk::arrow::array::RecordBatch;
use qdp_sdk::batch::schema_difference;
use qdp_sdk::{OutputDecl, PluginError, Position, Result};

/// `data` emitted on `port` with `category` conforms to `declared`.
pub fn check(
    component: &str,
    declared: &[OutputDecl],
    port: Option<&str>,
    category: &str,
    data: &RecordBatch,
) -> Result<()> {
    let Some(decl) = declared
        .iter()
        .find(|d| d.port.as_deref() == port && d.category == category)
    else {
        let known: Vec<String> = declared
            .iter()
            .map(|d| {
                format!(
                    "`{}` on {}",
                    d.category,
                    d.port.as_deref().unwrap_or("main")
                )
            })
            .collect();
        return Err(PluginError::internal(format!(
            "`{component}` emitted category `{category}` on port {}, which it did not declare (declared: {})",
            port.unwrap_or("main"),
            known.join(", ")
        )));
    };
    if let Some(schema) = &decl.schema
        && let Some(diff) = schema_difference(schema, &data.schema())
    {
        return Err(PluginError::internal(format!(
            "`{component}` emitted a `{category}` batch that does not match its declared schema: {diff}"
        )));
    }
    Ok(())
}

/// A source's positions, when it gives any, account for every row of the
/// batch: sinks slice the batch by them.
pub fn positions(component: &str, positions: &[Position], data: &RecordBatch) -> Result<()> {
    if positions.is_empty() {
        return Ok(());
    }
    let covered: u64 = positions.iter().map(|p| p.rows).sum();
    if covered != data.num_rows() as u64 {
        return Err(PluginError::internal(format!(
            "`{component}` emitted a batch of {} rows whose positions cover {covered}",
            data.num_rows()
        )));
    }
    Ok(())
}
