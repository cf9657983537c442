//! The new data files: the chosen files of a partition read back, fitted to
//! the table's current schema, and written by the same writer stack as the
//! sink's (Parquet, zstd, rolled at the target size) under the partition's
//! own value.

use super::plan::{Live, Partition};
use crate::catalog::ice;
use crate::config::IcebergOptions;
use crate::shape::fit;
use iceberg::arrow::schema_to_arrow_schema;
use iceberg::spec::{DataFile, DataFileFormat, PartitionKey};
use iceberg::table::Table;
use iceberg::writer::base_writer::data_file_writer::DataFileWriterBuilder;
use iceberg::writer::file_writer::ParquetWriterBuilder;
use iceberg::writer::file_writer::location_generator::{
    DefaultFileNameGenerator, DefaultLocationGenerator,
};
use iceberg::writer::file_writer::rolling_writer::RollingFileWriterBuilder;
use iceberg::writer::{IcebergWriter, IcebergWriterBuilder};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use qdp_sdk::{PluginError, Result};
use std::sync::Arc;

/// Rows per batch read back: large enough that the writer sees few calls.
const READ_BATCH: usize = 64 * 1024;

/// Writes the rows of every chosen partition into new files, one partition
/// at a time, one old file in memory at a time (a chosen file is smaller
/// than the target size). `prefix` names the new files.
pub(crate) async fn rewrite(
    t: &Table,
    o: &IcebergOptions,
    live: &[Live],
    chosen: &[Partition],
    prefix: &str,
) -> Result<Vec<Vec<DataFile>>> {
    let meta = t.metadata();
    let schema = meta.current_schema().clone();
    let arrow = Arc::new(schema_to_arrow_schema(&schema).map_err(ice("arrow schema"))?);
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(o.compression_level)
                .map_err(|e| PluginError::config(format!("compression_level: {e}")))?,
        ))
        .build();
    let builder = DataFileWriterBuilder::new(RollingFileWriterBuilder::new(
        ParquetWriterBuilder::new(props, schema.clone()),
        usize::try_from(o.target_file_size_bytes).unwrap_or(usize::MAX),
        t.file_io().clone(),
        DefaultLocationGenerator::new(meta).map_err(ice("data location"))?,
        // One counter for every partition: names never repeat in a run.
        DefaultFileNameGenerator::new(prefix.to_string(), None, DataFileFormat::Parquet),
    ));
    let mut out = Vec::with_capacity(chosen.len());
    for part in chosen {
        let spec = meta.partition_spec_by_id(part.spec_id).ok_or_else(|| {
            PluginError::internal(format!(
                "partition spec {} is not in the table",
                part.spec_id
            ))
        })?;
        let key = (!spec.is_unpartitioned())
            .then(|| PartitionKey::new(spec.as_ref().clone(), schema.clone(), part.value.clone()));
        let mut writer = builder.build(key).await.map_err(ice("data file writer"))?;
        let mut rows = 0u64;
        for &i in &part.files {
            let path = live[i].file.file_path();
            let bytes = t
                .file_io()
                .new_input(path)
                .map_err(ice("data file"))?
                .read()
                .await
                .map_err(ice("reading a data file"))
                .map_err(|e| e.with_context("file", path))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
                .and_then(|b| b.with_batch_size(READ_BATCH).build())
                .map_err(|e| PluginError::external(format!("parquet {path}: {e}")))?;
            for batch in reader {
                let batch =
                    batch.map_err(|e| PluginError::external(format!("parquet {path}: {e}")))?;
                // Files older than a schema change lack its nullable columns.
                let batch = fit(&batch, &arrow).map_err(|e| e.with_context("file", path))?;
                rows += batch.num_rows() as u64;
                writer
                    .write(batch)
                    .await
                    .map_err(ice("writing a data file"))?;
            }
        }
        let files = writer.close().await.map_err(ice("closing data files"))?;
        let expected: u64 = part
            .files
            .iter()
            .map(|&i| live[i].file.record_count())
            .sum();
        let written: u64 = files.iter().map(DataFile::record_count).sum();
        if rows != expected || written != expected {
            return Err(PluginError::internal(format!(
                "compaction read {rows} rows and wrote {written} where the manifests say {expected}: nothing committed"
            )));
        }
        out.push(files);
    }
    Ok(out)
}
