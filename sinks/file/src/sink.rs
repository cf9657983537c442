//! The `file` sink: groups a write by category and origin, writes one file
//! per group (per schema; a group is one origin through one producer), and commits each by fsync + rename + directory
//! fsync. Batches at or below the committed high-water mark of their origin
//! are skipped, which makes replays from a deterministic source idempotent.

use crate::config::FileOptions;
use crate::naming::{file_name, sanitize, scan};
use crate::writers::write;
use qdp_sdk::arrow::array::RecordBatch;
use qdp_sdk::{Batch, Context, Describe, PluginError, Result, Sink};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The sink.
pub struct FileSink {
    o: FileOptions,
    /// Committed high-water mark per (category, origin).
    marks: HashMap<(String, String), u64>,
    scanned: HashMap<String, bool>,
}

impl Describe for FileSink {
    type Options = FileOptions;
    const NAME: &'static str = "file";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CAPABILITIES: u64 = qdp_sdk::capabilities::IDEMPOTENT_WRITE;
}

fn io_err(path: &Path, e: std::io::Error) -> PluginError {
    PluginError::external(format!("cannot write files: {e}")).with_context("path", path.display())
}

impl FileSink {
    fn dir(&self, category: &str) -> PathBuf {
        self.o.path.join(sanitize(category))
    }

    /// Learns what a category directory already holds (once per category).
    fn ensure_scanned(&mut self, category: &str) -> Result<()> {
        if self.scanned.contains_key(category) {
            return Ok(());
        }
        let dir = self.dir(category);
        for (origin, last) in scan(&dir).map_err(|e| io_err(&dir, e))? {
            self.marks.insert((category.to_string(), origin), last);
        }
        self.scanned.insert(category.to_string(), true);
        Ok(())
    }

    fn commit(&self, dir: &Path, name: &str, batches: &[&RecordBatch]) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let tmp = dir.join(format!(".{name}.tmp"));
        let file = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
        let file = write(file, self.o.format, self.o.compression_level, batches)
            .map_err(|e| e.with_context("path", tmp.display()))?;
        if self.o.fsync {
            file.sync_all().map_err(|e| io_err(&tmp, e))?;
        }
        drop(file);
        let path = dir.join(name);
        std::fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))?;
        if self.o.fsync {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io_err(dir, e))?;
        }
        Ok(())
    }
}

impl Sink for FileSink {
    fn new(o: FileOptions, _: &Context) -> Result<Self> {
        if o.path.as_os_str().is_empty() {
            return Err(PluginError::config("path must not be empty"));
        }
        if !(1..=22).contains(&o.compression_level) {
            return Err(PluginError::config(
                "compression_level must be between 1 and 22",
            ));
        }
        Ok(Self {
            o,
            marks: HashMap::new(),
            scanned: HashMap::new(),
        })
    }

    async fn open(&mut self) -> Result<()> {
        std::fs::create_dir_all(&self.o.path).map_err(|e| io_err(&self.o.path, e))
    }

    async fn write(&mut self, batches: &[Batch]) -> Result<()> {
        let mut groups: BTreeMap<(String, String), Vec<&Batch>> = BTreeMap::new();
        for b in batches {
            let key = if b.meta.producer.is_empty() || b.meta.producer == b.meta.origin {
                b.meta.origin.clone()
            } else {
                format!("{}__{}", b.meta.origin, b.meta.producer)
            };
            groups
                .entry((b.meta.category.clone(), key))
                .or_default()
                .push(b);
        }
        for ((category, origin), mut group) in groups {
            self.ensure_scanned(&category)?;
            let key = (category.clone(), sanitize(&origin));
            let mark = self.marks.get(&key).copied();
            group.retain(|b| mark.is_none_or(|m| b.meta.seq > m) && b.data.num_rows() > 0);
            if group.is_empty() {
                continue;
            }
            group.sort_by_key(|b| b.meta.seq);
            // A replay through a buffer can deliver a batch twice in one write.
            group.dedup_by_key(|b| b.meta.seq);
            let (first, last) = (group[0].meta.seq, group[group.len() - 1].meta.seq);
            // One file per distinct schema (rejects of two stages differ).
            let mut by_schema: Vec<Vec<&RecordBatch>> = Vec::new();
            for b in &group {
                match by_schema
                    .iter_mut()
                    .find(|g| g[0].schema() == b.data.schema())
                {
                    Some(g) => g.push(&b.data),
                    None => by_schema.push(vec![&b.data]),
                }
            }
            let dir = self.dir(&category);
            // Later parts first: the file without a part number is the one
            // the high-water mark is read from, so it is committed last.
            for (part, parts) in by_schema.iter().enumerate().rev() {
                self.commit(
                    &dir,
                    &file_name(&origin, first, last, part, self.o.format.ext()),
                    parts,
                )?;
            }
            self.marks.insert(key, last);
        }
        Ok(())
    }
}
