//! `raw_object` batches into `bronze.raw_object`, one row per distinct
//! content: the SHA-256 is checked against the bytes, and content already
//! stored is skipped.

use crate::config::Checked;
use crate::ident::{qualified, quote};
use crate::pgerror::convert;
use crate::stage;
use crate::textual::AppendCounts;
use crate::values::Col;
use chrono::DateTime;
use qdp_sdk::{Batch, Result};
use tokio_postgres::Transaction;

/// Appends one `raw_object` batch.
pub async fn append(
    tx: &Transaction<'_>,
    c: &Checked,
    b: &Batch,
    stage_name: &str,
) -> Result<AppendCounts> {
    let n = b.data.num_rows();
    if n == 0 {
        return Ok(AppendCounts::default());
    }
    let objects = qdp_sdk::raw::from_batch(&b.data)?;
    let text = |f: &dyn Fn(&qdp_sdk::raw::RawObject) -> String| {
        Col::Text(objects.iter().map(|o| Some(f(o))).collect())
    };
    let cols: Vec<(String, Col)> = vec![
        (
            "source_system_name".into(),
            text(&|o| o.source_system.clone()),
        ),
        ("object_name".into(), text(&|o| o.object_name.clone())),
        ("extension".into(), text(&|o| o.extension.clone())),
        ("sha256".into(), text(&|o| o.sha256_hex())),
        (
            "received_time".into(),
            Col::Ts(
                objects
                    .iter()
                    .map(|o| Some(DateTime::from_timestamp_nanos(o.received_time_ns)))
                    .collect(),
            ),
        ),
        (
            "content".into(),
            Col::Bytes(objects.iter().map(|o| Some(o.content.clone())).collect()),
        ),
        (
            "size".into(),
            Col::I64(
                objects
                    .iter()
                    .map(|o| Some(o.content.len() as i64))
                    .collect(),
            ),
        ),
        (
            "source_table_name".into(),
            Col::repeat_text(&format!("{}.{}", b.meta.origin, b.meta.category), n),
        ),
        (
            "platform_worker_name".into(),
            Col::repeat_text(&c.worker, n),
        ),
    ];
    stage::create(tx, c, stage_name, &cols).await?;
    let table = qualified(&c.schemas.bronze, "raw_object");
    let staged = stage::copy(tx, c, stage_name, &cols, n, "copy raw objects").await?;
    let names: Vec<String> = cols.iter().map(|(n, _)| quote(n)).collect();
    let sql = format!(
        "insert into {table} ({cols}) select {cols} from {} on conflict (sha256) do nothing",
        quote(stage_name),
        cols = names.join(", ")
    );
    let inserted = tx
        .execute(&sql, &[])
        .await
        .map_err(|e| convert(c, &e, "insert into raw_object"))?;
    Ok(AppendCounts {
        inserted,
        skipped: staged.saturating_sub(inserted),
    })
}
