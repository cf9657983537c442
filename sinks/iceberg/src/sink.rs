//! The `iceberg` sink: every `write` call becomes at most one snapshot per
//! table, carrying the batches' high-water marks.

use crate::catalog::{connect, ice, table};
use crate::config::IcebergOptions;
use crate::marks::{self, Marks, Stream};
use crate::partition;
use crate::shape::fit;
use iceberg::Catalog;
use iceberg::arrow::{RecordBatchPartitionSplitter, schema_to_arrow_schema};
use iceberg::spec::{DataFile, DataFileFormat};
use iceberg::table::Table;
use iceberg::transaction::{ApplyTransactionAction, Transaction};
use iceberg::writer::base_writer::data_file_writer::DataFileWriterBuilder;
use iceberg::writer::file_writer::ParquetWriterBuilder;
use iceberg::writer::file_writer::location_generator::{
    DefaultFileNameGenerator, DefaultLocationGenerator,
};
use iceberg::writer::file_writer::rolling_writer::RollingFileWriterBuilder;
use iceberg::writer::partitioning::PartitioningWriter;
use iceberg::writer::partitioning::fanout_writer::FanoutWriter;
use iceberg::writer::partitioning::unpartitioned_writer::UnpartitionedWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use qdp_sdk::arrow::array::RecordBatch;
use qdp_sdk::{Batch, Context, Describe, PluginError, Result, Sink, capabilities};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The sink.
pub struct IcebergSink {
    o: IcebergOptions,
    pipeline: String,
    component: String,
    data_dir: Option<PathBuf>,
    catalog: Option<Arc<dyn Catalog>>,
    /// Loaded tables by name, with what they hold.
    tables: HashMap<String, (Table, Marks)>,
}

impl Describe for IcebergSink {
    type Options = IcebergOptions;
    const NAME: &'static str = "iceberg";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    /// Replayed rows are recognised from the marks in the table's own
    /// snapshots (batch numbers of deterministic sources, positions of
    /// sources that name them) and skipped.
    const CAPABILITIES: u64 = capabilities::IDEMPOTENT_WRITE;
}

impl Sink for IcebergSink {
    fn new(o: IcebergOptions, ctx: &Context) -> Result<Self> {
        o.places(ctx.data_dir.as_deref())
            .map_err(PluginError::config)?;
        Ok(Self {
            o,
            pipeline: ctx.pipeline.clone(),
            component: ctx.component_id.clone(),
            data_dir: ctx.data_dir.clone(),
            catalog: None,
            tables: HashMap::new(),
        })
    }

    async fn open(&mut self) -> Result<()> {
        let places = self
            .o
            .places(self.data_dir.as_deref())
            .map_err(PluginError::config)?;
        self.catalog = Some(connect(&self.o, &places).await?);
        Ok(())
    }

    async fn write(&mut self, batches: &[Batch]) -> Result<()> {
        let mut by_table: BTreeMap<String, Vec<&Batch>> = BTreeMap::new();
        for b in batches.iter().filter(|b| b.data.num_rows() > 0) {
            by_table
                .entry(self.o.table_for(&b.meta.category))
                .or_default()
                .push(b);
        }
        for (name, group) in by_table {
            self.commit(&name, &group).await?;
        }
        Ok(())
    }

    async fn shutdown(&mut self) -> Result<()> {
        self.tables.clear();
        self.catalog = None;
        Ok(())
    }
}

/// Rows of `b` in the table's current Arrow schema; errors name the batch.
fn fitted(
    b: &Batch,
    data: &RecordBatch,
    arrow: &qdp_sdk::arrow::datatypes::SchemaRef,
) -> Result<RecordBatch> {
    fit(data, arrow).map_err(|e| {
        e.with_context("origin", &b.meta.origin)
            .with_context("seq", b.meta.seq)
    })
}

/// The rows of `b` the table does not hold yet, as slices in row order.
///
/// Batches with source positions are judged run by run (a replay after a
/// crash or a rebalance may cut them differently); batches of a
/// deterministic source whole, by batch number; any other batch is new by
/// definition, since its number does not name the same rows after a
/// restart.
fn unheld(b: &Batch, m: &Marks) -> Vec<RecordBatch> {
    if !b.meta.positions.is_empty() {
        let mut out: Vec<RecordBatch> = Vec::new();
        let (mut start, mut run) = (0usize, 0usize);
        for p in &b.meta.positions {
            let rows = usize::try_from(p.rows).unwrap_or(usize::MAX);
            if m.holds_position(&b.meta.category, &p.stream, p.at) {
                if run > 0 {
                    out.push(b.data.slice(start, run));
                }
                start += run + rows;
                run = 0;
            } else {
                run += rows;
            }
        }
        if run > 0 {
            out.push(b.data.slice(start, run));
        }
        return out;
    }
    if b.meta.replayable && m.holds(&stream_of(b), b.meta.seq) {
        return Vec::new();
    }
    vec![b.data.clone()]
}

/// Every slice to write with the batch it comes from.
fn pairs<'a>(fresh: &'a [(&'a Batch, Vec<RecordBatch>)]) -> Vec<(&'a Batch, &'a RecordBatch)> {
    let mut out = Vec::new();
    for (b, rows) in fresh {
        for r in rows {
            out.push((*b, r));
        }
    }
    out
}

/// Records `b` as committed.
fn advance(m: &mut Marks, b: &Batch) {
    for p in &b.meta.positions {
        m.advance_position(&b.meta.category, &p.stream, p.at);
    }
    if b.meta.positions.is_empty() && b.meta.replayable {
        m.advance(stream_of(b), b.meta.seq);
    }
}

fn stream_of(b: &Batch) -> Stream {
    (
        b.meta.category.clone(),
        b.meta.origin.clone(),
        b.meta.producer.clone(),
    )
}

impl IcebergSink {
    fn catalog(&self) -> Result<Arc<dyn Catalog>> {
        self.catalog
            .clone()
            .ok_or_else(|| PluginError::internal("write before open"))
    }

    /// The table `name` for `category`, loaded once per process (and again
    /// after a failed commit, since another writer may have moved it).
    async fn loaded(
        &mut self,
        name: &str,
        category: &str,
        arrow: &qdp_sdk::arrow::datatypes::Schema,
    ) -> Result<(Table, Marks)> {
        if let Some(t) = self.tables.get(name) {
            return Ok(t.clone());
        }
        let catalog = self.catalog()?;
        let t = table(catalog.as_ref(), &self.o, name, category, arrow).await?;
        let key = marks::key(&self.pipeline, &self.component);
        let m = Marks::load(t.metadata(), &key).map_err(PluginError::internal)?;
        self.tables.insert(name.to_string(), (t.clone(), m.clone()));
        Ok((t, m))
    }

    /// Writes the rows the table does not hold yet into data files and
    /// commits them with the advanced marks in one snapshot.
    async fn commit(&mut self, name: &str, group: &[&Batch]) -> Result<()> {
        let category = group[0].meta.category.clone();
        let arrow = group[0].data.schema();
        let (t, mut m) = self.loaded(name, &category, &arrow).await?;
        let mut fresh: Vec<(&Batch, Vec<RecordBatch>)> = Vec::new();
        let mut held = 0usize;
        for b in group.iter().copied() {
            let rows = unheld(b, &m);
            held += b.data.num_rows() - rows.iter().map(RecordBatch::num_rows).sum::<usize>();
            if !rows.is_empty() {
                fresh.push((b, rows));
            }
        }
        if held > 0 {
            tracing::info!(
                table = name,
                rows = held,
                "replayed rows already in the table skipped"
            );
        }
        if fresh.is_empty() {
            return Ok(());
        }
        let result = self.write_and_commit(&t, &mut m, &fresh).await;
        match result {
            Ok((t, rows, files)) => {
                tracing::debug!(table = name, rows, files, "iceberg commit");
                self.tables.insert(name.to_string(), (t, m));
                Ok(())
            }
            Err(e) => {
                // Reload next time: the table or the catalog may have moved.
                self.tables.remove(name);
                Err(e.with_context("table", format!("{}.{name}", self.o.namespace)))
            }
        }
    }

    async fn write_and_commit(
        &self,
        t: &Table,
        m: &mut Marks,
        fresh: &[(&Batch, Vec<RecordBatch>)],
    ) -> Result<(Table, usize, usize)> {
        let meta = t.metadata();
        let schema = meta.current_schema().clone();
        let arrow = Arc::new(schema_to_arrow_schema(&schema).map_err(ice("arrow schema"))?);
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(self.o.compression_level)
                    .map_err(|e| PluginError::config(format!("compression_level: {e}")))?,
            ))
            .build();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        // Unique per attempt: files of a failed attempt are never reused.
        let names = DefaultFileNameGenerator::new(
            format!("qdp-{}-{nanos:x}", std::process::id()),
            None,
            DataFileFormat::Parquet,
        );
        let rolling = RollingFileWriterBuilder::new(
            ParquetWriterBuilder::new(props, schema.clone()),
            usize::try_from(self.o.target_file_size_bytes).unwrap_or(usize::MAX),
            t.file_io().clone(),
            DefaultLocationGenerator::new(meta).map_err(ice("data location"))?,
            names,
        );
        let builder = DataFileWriterBuilder::new(rolling);
        let spec = meta.default_partition_spec().clone();
        let mut rows = 0usize;
        let files: Vec<DataFile> = if spec.is_unpartitioned() {
            let mut writer = UnpartitionedWriter::new(builder);
            for (b, data) in pairs(fresh) {
                let data = fitted(b, data, &arrow)?;
                rows += data.num_rows();
                writer
                    .write(data)
                    .await
                    .map_err(ice("writing a data file"))?;
            }
            writer.close().await.map_err(ice("closing data files"))?
        } else {
            let mut writer = FanoutWriter::new(builder);
            let splitter = RecordBatchPartitionSplitter::try_new_with_computed_values(
                schema.clone(),
                spec.clone(),
            )
            .map_err(ice("partition spec"))?;
            for (b, data) in pairs(fresh) {
                let data = fitted(b, data, &arrow)?;
                rows += data.num_rows();
                let parts = if partition::single(&data, &spec, &schema) {
                    // One partition: its key from one row, the batch whole.
                    let key = splitter
                        .split(&data.slice(0, 1))
                        .map_err(ice("partitioning"))?
                        .into_iter()
                        .map(|(k, _)| k);
                    key.map(|k| (k, data.clone())).collect()
                } else {
                    splitter.split(&data).map_err(ice("partitioning"))?
                };
                for (key, part) in parts {
                    writer
                        .write(key, part)
                        .await
                        .map_err(ice("writing a data file"))?;
                }
            }
            writer.close().await.map_err(ice("closing data files"))?
        };
        for (b, _) in fresh {
            advance(m, b);
        }
        let summary = HashMap::from([
            (marks::key(&self.pipeline, &self.component), m.encode()),
            ("qdp.pipeline".to_string(), self.pipeline.clone()),
        ]);
        let n = files.len();
        let tx = Transaction::new(t);
        let tx = tx
            .fast_append()
            // File names are unique per attempt; the crate's duplicate check
            // would read every manifest of the table at every commit.
            .with_check_duplicate(false)
            .add_data_files(files)
            .set_snapshot_properties(summary)
            .apply(tx)
            .map_err(ice("append"))?;
        let catalog = self.catalog()?;
        let t = tx
            .commit(catalog.as_ref())
            .await
            .map_err(ice("cannot commit the snapshot"))?;
        Ok((t, rows, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qdp_sdk::arrow::array::{Array, UInt64Array};
    use qdp_sdk::arrow::datatypes::{DataType, Field, Schema};
    use qdp_sdk::{BatchMeta, Position};

    fn batch(values: &[u64], replayable: bool, positions: Vec<Position>) -> Batch {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::UInt64, false)]));
        let col = Arc::new(UInt64Array::from(values.to_vec()));
        Batch {
            data: RecordBatch::try_new(schema, vec![col]).unwrap_or_else(|e| panic!("{e}")),
            meta: BatchMeta {
                category: "c".into(),
                origin: "o".into(),
                producer: "o".into(),
                seq: 5,
                replayable,
                positions,
                ..Default::default()
            },
        }
    }

    fn at(stream: &str, at: u64, rows: u64) -> Position {
        Position {
            stream: stream.into(),
            at,
            rows,
        }
    }

    fn values(slices: &[RecordBatch]) -> Vec<u64> {
        let mut out = Vec::new();
        for s in slices {
            let c = s.column(0).as_any().downcast_ref::<UInt64Array>();
            out.extend(c.into_iter().flat_map(|c| c.values().iter().copied()));
        }
        out
    }

    #[test]
    fn positions_skip_exactly_the_held_runs_however_the_replay_is_cut() {
        let mut m = Marks::default();
        // Committed before the crash: offsets 10 and 11 of t/0, 3 of t/1.
        advance(
            &mut m,
            &batch(&[1, 2, 3], false, vec![at("t/0", 10, 2), at("t/0", 11, 1)]),
        );
        advance(&mut m, &batch(&[4], false, vec![at("t/1", 3, 1)]));
        // The replay cuts differently and interleaves partitions.
        let replay = batch(
            &[2, 3, 4, 5, 6, 7],
            false,
            vec![
                at("t/0", 11, 1),
                at("t/1", 3, 1),
                at("t/0", 12, 1),
                at("t/1", 4, 2),
                at("t/0", 11, 1),
            ],
        );
        // The last run repeats a held offset: skipped too.
        assert_eq!(values(&unheld(&replay, &m)), vec![4, 5, 6]);
        let none = batch(&[2], false, vec![at("t/0", 11, 1)]);
        assert!(unheld(&none, &m).is_empty());
    }

    #[test]
    fn batch_numbers_only_skip_batches_of_deterministic_sources() {
        let mut m = Marks::default();
        advance(&mut m, &batch(&[1], true, Vec::new()));
        assert!(unheld(&batch(&[1], true, Vec::new()), &m).is_empty());
        // Another replica (or a restart) of a non-deterministic source may
        // use the same number for other rows: they are written.
        advance(&mut m, &batch(&[9], false, Vec::new()));
        assert_eq!(
            values(&unheld(&batch(&[2], false, Vec::new()), &m)),
            vec![2]
        );
    }
}
