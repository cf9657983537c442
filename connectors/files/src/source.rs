//! The `files` source: one pass reads every settled file of the drop folder
//! that was not loaded before, emits it whole on `raw_object` and its rows on
//! `bronze_<dataset>` (or `unqualified`), and moves it away once acknowledged.

use crate::bronze::{self, Batches, FileId};
use crate::config::{FilesOptions, Settings};
use crate::folder::{self, Ready};
use crate::watermark::{Partial, Watermark};
use crate::{csv_read, sheet_read};
use qdp_sdk::arrow::array::RecordBatch;
use qdp_sdk::raw::{self, RAW_OBJECT, RawObject};
use qdp_sdk::{
    Checkpoint, Context, Describe, OutputDecl, PluginError, Result, Source, SourceBatch,
    capabilities,
};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::SystemTime;

/// A file emitted in this pass, waiting for its acknowledgement.
#[derive(Debug, Clone)]
struct Pending {
    path: PathBuf,
    sha256: String,
    rejected: bool,
    /// Length and modification time when read: a file replaced since is
    /// new content and stays for the next pass.
    seen: (u64, Option<SystemTime>),
}

/// The `files` source.
pub struct Files {
    s: Settings,
    /// The watermark the pass started from (files known before it).
    before: Watermark,
    /// The watermark after the last batch handed out.
    mark: Watermark,
    queue: VecDeque<Ready>,
    out: VecDeque<SourceBatch>,
    pending: Vec<Pending>,
    started: bool,
}

impl Describe for Files {
    type Options = FilesOptions;
    const NAME: &'static str = "files";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CAPABILITIES: u64 = capabilities::FINITE | capabilities::RESUME;
}

/// Category of a dataset's bronze rows.
pub fn bronze_category(dataset: &str) -> String {
    format!("bronze_{dataset}")
}

/// Category of a dataset's rejected rows.
pub fn unqualified_category(dataset: &str) -> String {
    format!("bronze_{dataset}_unqualified")
}

impl Source for Files {
    fn new(options: FilesOptions, _ctx: &Context) -> Result<Self> {
        Ok(Self {
            s: Settings::new(options)?,
            before: Watermark::default(),
            mark: Watermark::default(),
            queue: VecDeque::new(),
            out: VecDeque::new(),
            pending: Vec::new(),
            started: false,
        })
    }

    /// `ID.raw_object`, `ID.bronze_<dataset>` per dataset (columns known
    /// only once a file is read) and `ID.unqualified`.
    fn outputs(&self) -> Vec<OutputDecl> {
        let mut out = vec![OutputDecl {
            port: Some(RAW_OBJECT.into()),
            ..OutputDecl::main(RAW_OBJECT, raw::raw_object_schema())
        }];
        for d in &self.s.datasets {
            let cat = bronze_category(&d.name);
            out.push(OutputDecl {
                port: Some(cat.clone()),
                category: cat,
                schema: None,
            });
        }
        for d in &self.s.datasets {
            out.push(OutputDecl {
                port: Some("unqualified".into()),
                ..OutputDecl::main(unqualified_category(&d.name), bronze::unqualified_schema())
            });
        }
        out
    }

    async fn start(&mut self, checkpoint: Option<Checkpoint>) -> Result<()> {
        let w = Watermark::from_checkpoint(checkpoint.as_ref())?;
        self.queue = folder::ready(&self.s, SystemTime::now())?.into();
        self.before = w.clone();
        self.mark = w;
        self.out.clear();
        self.pending.clear();
        self.started = true;
        Ok(())
    }

    /// Synchronous inside, so dropping the future loses nothing.
    async fn next_batch(&mut self) -> Result<Option<SourceBatch>> {
        if !self.started {
            return Err(PluginError::internal("next_batch before start"));
        }
        loop {
            if let Some(b) = self.out.pop_front() {
                return Ok(Some(b));
            }
            let Some(file) = self.queue.pop_front() else {
                return Ok(None);
            };
            self.load(file)?;
        }
    }

    /// Every sink has the batches up to `checkpoint`: files it records as
    /// loaded move to the archive (or `rejected/`).
    async fn ack(&mut self, checkpoint: Checkpoint) -> Result<()> {
        let done = Watermark::from_checkpoint(Some(&checkpoint))?;
        let (now, mut kept) = (SystemTime::now(), Vec::new());
        for p in std::mem::take(&mut self.pending) {
            if !done.has(&p.sha256) {
                kept.push(p);
                continue;
            }
            self.put_away(&p, now);
        }
        self.pending = kept;
        Ok(())
    }
}

impl Files {
    /// Reads one file and queues its batches (or puts it away if known).
    fn load(&mut self, file: Ready) -> Result<()> {
        let bytes = match std::fs::read(&file.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(PluginError::external(format!(
                    "files: cannot read {}: {e}",
                    file.path.display()
                )));
            }
        };
        let seen = std::fs::metadata(&file.path)
            .map(|m| (m.len(), m.modified().ok()))
            .unwrap_or((bytes.len() as u64, None));
        let sha256 = raw::sha256_hex(&bytes);
        let known = |w: &Watermark| w.has(&sha256);
        if known(&self.before) {
            // Loaded in an acknowledged pass: only the move is left to do.
            let p = Pending {
                path: file.path,
                rejected: self.before.was_rejected(&sha256),
                sha256,
                seen,
            };
            self.put_away(&p, SystemTime::now());
            return Ok(());
        }
        if known(&self.mark) {
            // Same content as a file earlier in this pass: moved with it.
            self.pending.push(Pending {
                path: file.path,
                rejected: self.mark.was_rejected(&sha256),
                sha256,
                seen,
            });
            return Ok(());
        }
        let (batches, rejected) = self.batches(&file, &bytes, &sha256)?;
        let skip = match &self.mark.partial {
            Some(Partial { sha256: h, batches }) if *h == sha256 => *batches,
            _ => 0,
        };
        let last = batches.len().saturating_sub(1);
        for (i, (category, data)) in batches.into_iter().enumerate() {
            let mut w = self.mark.clone();
            if i == last {
                w.add(&sha256, rejected);
            } else {
                w.partial = Some(Partial {
                    sha256: sha256.clone(),
                    batches: i + 1,
                });
            }
            if i >= skip {
                self.out.push_back(SourceBatch {
                    category,
                    source_system: self.s.source_system.clone(),
                    data,
                    checkpoint: w.to_checkpoint()?,
                    positions: Vec::new(),
                });
            }
        }
        self.mark.add(&sha256, rejected);
        self.pending.push(Pending {
            path: file.path,
            sha256,
            rejected,
            seen,
        });
        Ok(())
    }

    /// The file's batches: the raw object first, then its rows.
    fn batches(
        &self,
        file: &Ready,
        bytes: &[u8],
        sha256: &str,
    ) -> Result<(Vec<(String, RecordBatch)>, bool)> {
        let ext = file
            .name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        let received = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let raw = raw::to_batch(&[RawObject {
            source_system: self.s.source_system.clone(),
            object_name: file.name.clone(),
            extension: ext.clone(),
            received_time_ns: received,
            content: bytes.to_vec(),
        }])?;
        let parsed = match ext.as_str() {
            "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => sheet_read::read(bytes, &file.read),
            _ => csv_read::read(bytes, &file.read),
        };
        let id = FileId {
            name: &file.name,
            sha256,
            dataset: &file.dataset,
        };
        let mut out = vec![(RAW_OBJECT.to_string(), raw)];
        let rejected = match bronze::batches(&parsed, &id, self.s.batch_rows)? {
            Batches::Bronze(b) => {
                let cat = bronze_category(&file.dataset);
                out.extend(b.into_iter().map(|b| (cat.clone(), b)));
                false
            }
            Batches::Rejected(b) => {
                let cat = unqualified_category(&file.dataset);
                tracing::warn!(file = %file.name, rows = b.iter().map(RecordBatch::num_rows).sum::<usize>(), "files: file rejected; its rows go to {cat}");
                out.extend(b.into_iter().map(|b| (cat.clone(), b)));
                true
            }
        };
        Ok((out, rejected))
    }

    /// Moves a loaded file to the archive or `rejected/`, unless it changed
    /// since it was read. A failed move leaves the file for the next pass,
    /// which recognises its hash and tries again.
    fn put_away(&self, p: &Pending, now: SystemTime) {
        let current = std::fs::metadata(&p.path).map(|m| (m.len(), m.modified().ok()));
        match current {
            Err(_) => return,
            Ok(c) if c != p.seen => {
                tracing::warn!(file = %p.path.display(), "files: changed since it was read; left for the next pass");
                return;
            }
            Ok(_) => {}
        }
        let dir = if p.rejected {
            self.s.rejected.clone()
        } else {
            folder::archive_dir(&self.s.archive, now)
        };
        if let Err(e) = folder::move_into(&p.path, &dir, &p.sha256) {
            tracing::warn!(file = %p.path.display(), error = %e, "files: cannot move a loaded file; retried next pass");
        }
    }
}
