//! Encoding batches of one schema into one file, per format.

use crate::config::Format;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use qdp_sdk::arrow::array::RecordBatch;
use qdp_sdk::{PluginError, Result};
use std::fs::File;
use std::io::{BufWriter, Write};

/// Writes `batches` (all of one schema) to `file` and flushes it.
pub fn write(file: File, format: Format, level: i32, batches: &[&RecordBatch]) -> Result<File> {
    let Some(first) = batches.first() else {
        return Err(PluginError::internal("no batches to write"));
    };
    match format {
        Format::Parquet => {
            let level = ZstdLevel::try_new(level)
                .map_err(|e| PluginError::config(format!("compression_level: {e}")))?;
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(level))
                .build();
            let mut w =
                ArrowWriter::try_new(file, first.schema(), Some(props)).map_err(parquet_err)?;
            for b in batches {
                w.write(b).map_err(parquet_err)?;
            }
            w.into_inner().map_err(parquet_err)
        }
        Format::Ndjson => {
            let mut w = qdp_sdk::arrow::json::LineDelimitedWriter::new(BufWriter::new(file));
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
            finish(w.into_inner())
        }
        Format::Csv => {
            let mut w = qdp_sdk::arrow::csv::Writer::new(BufWriter::new(file));
            for b in batches {
                w.write(b)?;
            }
            finish(w.into_inner())
        }
    }
}

fn finish(mut w: BufWriter<File>) -> Result<File> {
    w.flush()?;
    w.into_inner()
        .map_err(|e| PluginError::external(format!("io: {}", e.error())))
}

fn parquet_err(e: parquet::errors::ParquetError) -> PluginError {
    PluginError::external(format!("parquet: {e}"))
}
