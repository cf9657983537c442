//! `stdout`: a qdp sink plugin that prints batches as NDJSON or a table, for
//! trying pipelines out and for debugging.

#![forbid(unsafe_code)]

use qdp_sdk::{Batch, Context, Describe, PluginError, Result, Sink};
use serde::Deserialize;
use std::io::Write;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON object per row.
    Ndjson,
    /// An aligned text table per batch.
    Table,
}

/// Options of `stdout`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StdoutOptions {
    /// ndjson (default) or table.
    #[serde(default = "default_format")]
    pub format: Format,
    /// Print at most this many rows of each batch, then a count of the rest.
    pub max_rows_per_batch: Option<usize>,
}

fn default_format() -> Format {
    Format::Ndjson
}

/// The sink.
pub struct StdoutSink {
    o: StdoutOptions,
}

impl Describe for StdoutSink {
    type Options = StdoutOptions;
    const NAME: &'static str = "stdout";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
}

/// Renders one batch as the options say.
pub fn render(o: &StdoutOptions, b: &Batch) -> Result<Vec<u8>> {
    let rows = b.data.num_rows();
    let shown = o.max_rows_per_batch.unwrap_or(rows).min(rows);
    let data = b.data.slice(0, shown);
    let mut out = Vec::new();
    match o.format {
        Format::Ndjson => {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut out);
            w.write(&data)?;
            w.finish()?;
        }
        Format::Table => {
            let t = arrow::util::pretty::pretty_format_batches(&[data])?;
            writeln!(
                out,
                "{} ({} rows from {} batch {})\n{t}",
                b.meta.category, rows, b.meta.origin, b.meta.seq
            )?;
        }
    }
    if shown < rows {
        writeln!(out, "... {} more rows", rows - shown)?;
    }
    Ok(out)
}

impl Sink for StdoutSink {
    fn new(o: StdoutOptions, _: &Context) -> Result<Self> {
        Ok(Self { o })
    }

    async fn write(&mut self, batches: &[Batch]) -> Result<()> {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        for b in batches {
            lock.write_all(&render(&self.o, b)?)?;
        }
        lock.flush()
            .map_err(|e| PluginError::external(format!("cannot write to stdout: {e}")))
    }
}

qdp_sdk::export_sink!(StdoutSink);

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use qdp_sdk::BatchMeta;
    use std::sync::Arc;

    fn batch() -> Batch {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let data =
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2, 3]))]).unwrap();
        Batch {
            data,
            meta: BatchMeta {
                category: "c".into(),
                source_system: "s".into(),
                origin: "o".into(),
                seq: 4,
                producer: "o".into(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn ndjson_rows_and_truncation() {
        let o = StdoutOptions {
            format: Format::Ndjson,
            max_rows_per_batch: Some(2),
        };
        let text = String::from_utf8(render(&o, &batch()).unwrap()).unwrap();
        assert_eq!(text, "{\"n\":1}\n{\"n\":2}\n... 1 more rows\n");
    }

    #[test]
    fn table_has_a_header() {
        let o = StdoutOptions {
            format: Format::Table,
            max_rows_per_batch: None,
        };
        let text = String::from_utf8(render(&o, &batch()).unwrap()).unwrap();
        assert!(text.starts_with("c (3 rows from o batch 4)"), "{text}");
        assert!(text.contains("| 3 |"), "{text}");
    }
}
