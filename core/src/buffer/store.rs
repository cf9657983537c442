//! The buffer itself: appends, durability, backpressure, readers' cursors
//! and segment deletion.

use super::cursor;
use super::frame::{self, FRAME_HEADER, MAGIC, Record};
use super::segment::{self, RecMeta};
use super::{BufferError, BufferOptions, FsyncPolicy};
use arrow::array::RecordBatch;
use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, watch};

/// How far the buffer got: records durable, and whether appends ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Records `0..durable` are on disk under the fsync policy.
    pub durable: u64,
    /// No more appends will come (readers end at `durable`).
    pub closed: bool,
}

struct Seg {
    first: u64,
    path: PathBuf,
    recs: Vec<RecMeta>,
    len: u64,
}

impl Seg {
    fn end(&self) -> u64 {
        self.first + self.recs.len() as u64
    }
}

struct State {
    segs: VecDeque<Seg>,
    active: Option<File>,
    next: u64,
    disk_bytes: u64,
    /// Bytes of records some consumer has not committed yet.
    pending_bytes: u64,
    /// Lowest committed cursor over all consumers (records below it are done).
    low: u64,
    cursors: BTreeMap<String, u64>,
    consumers: Vec<String>,
    last_sync: Instant,
    blocked_since: Option<Instant>,
    failed: Option<String>,
}

/// Figures for metrics and `qdp buffer inspect`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BufferStats {
    /// Bytes of segment files on disk.
    pub disk_bytes: u64,
    /// Segment files on disk.
    pub segments: u64,
    /// Bytes not yet committed by every consumer.
    pub pending_bytes: u64,
    /// Records not yet committed by every consumer.
    pub pending_records: u64,
    /// Age of the oldest record some consumer has not committed.
    pub oldest_unconsumed: Option<Duration>,
    /// How long appends have been waiting for space, if they are.
    pub blocked_for: Option<Duration>,
    /// fsyncs done.
    pub fsyncs: u64,
    /// Duration of the last fsync.
    pub last_fsync: Duration,
}

/// A durable, segmented, append-only log of record batches with one
/// persisted cursor per consumer. See the [module docs](super).
pub struct Buffer {
    dir: PathBuf,
    opts: BufferOptions,
    state: Mutex<State>,
    progress: watch::Sender<Progress>,
    space: Notify,
    syncer: tokio::sync::Mutex<()>,
    fsyncs: AtomicU64,
    last_fsync_ns: AtomicU64,
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn segments_dir(dir: &Path) -> PathBuf {
    dir.join("segments")
}

fn cursors_dir(dir: &Path) -> PathBuf {
    dir.join("cursors")
}

impl Buffer {
    /// Opens (or creates) the buffer in `dir` for these consumers, recovering
    /// from a crash: a torn tail of the last segment is truncated with a
    /// warning; any other damage is an error naming segment and offset.
    pub fn open(
        dir: &Path,
        opts: BufferOptions,
        consumers: &[String],
    ) -> Result<Arc<Self>, BufferError> {
        let sdir = segments_dir(dir);
        let cdir = cursors_dir(dir);
        for d in [&sdir, &cdir] {
            std::fs::create_dir_all(d).map_err(|e| BufferError::io(d, e))?;
        }
        let files = segment::list(&sdir)?;
        let mut segs = VecDeque::new();
        let count = files.len();
        for (i, (first, path)) in files.into_iter().enumerate() {
            let last = i + 1 == count;
            let scan = segment::scan(&path, first, last)?;
            if let Some(p) = &scan.problem {
                if !(last && p.torn) {
                    return Err(BufferError::Corrupt {
                        segment: path,
                        offset: p.offset,
                        reason: format!(
                            "{} (run `qdp buffer verify` on {})",
                            p.reason,
                            dir.display()
                        ),
                    });
                }
                tracing::warn!(segment = %path.display(), offset = p.offset, reason = %p.reason, "buffer: truncating a torn tail left by a crash");
                if scan.valid_len < MAGIC.len() as u64 {
                    // Created but never given its header: nothing to keep.
                    std::fs::remove_file(&path).map_err(|e| BufferError::io(&path, e))?;
                    continue;
                }
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| BufferError::io(&path, e))?;
                f.set_len(scan.valid_len.max(MAGIC.len() as u64))
                    .and_then(|_| f.sync_all())
                    .map_err(|e| BufferError::io(&path, e))?;
            }
            if let Some(prev) = segs.back().map(Seg::end)
                && prev != first
            {
                return Err(BufferError::Corrupt {
                    segment: path,
                    offset: 0,
                    reason: format!(
                        "segment starts at record {first}, the previous one ends at {prev}"
                    ),
                });
            }
            let len = scan.valid_len.max(MAGIC.len() as u64);
            segs.push_back(Seg {
                first,
                path,
                recs: scan.records,
                len,
            });
        }
        let stored = cursor::load_all(&cdir)?;
        let consumers: Vec<String> = consumers.iter().map(|c| cursor::key(c)).collect();
        let mut next = segs.back().map_or(0, Seg::end);
        if segs.is_empty() {
            next = consumers
                .iter()
                .filter_map(|c| stored.get(c))
                .copied()
                .max()
                .unwrap_or(0);
        }
        let oldest = segs.front().map_or(next, |s| s.first);
        let mut cursors = BTreeMap::new();
        for c in &consumers {
            let at = stored.get(c).copied().unwrap_or(oldest);
            if at > next {
                return Err(BufferError::Corrupt {
                    segment: cdir.join(format!("{c}.cur")),
                    offset: 0,
                    reason: format!("cursor at record {at} is past the end of the buffer ({next})"),
                });
            }
            if !stored.contains_key(c) {
                // Written now so operators see every consumer from the start.
                cursor::store(&cdir, c, at)?;
            }
            cursors.insert(c.clone(), at.max(oldest));
        }
        for name in stored.keys().filter(|k| !consumers.contains(k)) {
            tracing::warn!(buffer = %dir.display(), consumer = %name, "buffer: ignoring the cursor of a consumer that is no longer configured");
        }
        let active = match segs.back() {
            Some(s) => Some(
                OpenOptions::new()
                    .append(true)
                    .open(&s.path)
                    .map_err(|e| BufferError::io(&s.path, e))?,
            ),
            None => None,
        };
        let disk_bytes = segs.iter().map(|s| s.len).sum();
        let low = cursors.values().copied().min().unwrap_or(next);
        let pending_bytes = segs
            .iter()
            .flat_map(|s| {
                s.recs
                    .iter()
                    .enumerate()
                    .map(move |(i, r)| (s.first + i as u64, r.bytes))
            })
            .filter(|(i, _)| *i >= low)
            .map(|(_, b)| b)
            .sum();
        let state = State {
            segs,
            active,
            next,
            disk_bytes,
            pending_bytes,
            low,
            cursors,
            consumers,
            last_sync: Instant::now(),
            blocked_since: None,
            failed: None,
        };
        let (progress, _) = watch::channel(Progress {
            durable: next,
            closed: false,
        });
        let buf = Arc::new(Self {
            dir: dir.to_path_buf(),
            opts,
            state: Mutex::new(state),
            progress,
            space: Notify::new(),
            syncer: tokio::sync::Mutex::new(()),
            fsyncs: AtomicU64::new(0),
            last_fsync_ns: AtomicU64::new(0),
        });
        {
            let mut st = buf.lock()?;
            buf.collect(&mut st)?;
        }
        Ok(buf)
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, BufferError> {
        self.state
            .lock()
            .map_err(|_| BufferError::Failed("buffer state lock poisoned".into()))
    }

    /// The buffer's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends a batch with the caller's metadata and returns its index.
    ///
    /// Waits (never drops) while the unconsumed bytes would exceed
    /// `max_bytes`. The record is readable, and safe under the fsync policy,
    /// once [`Buffer::wait_durable`] returns for its index.
    pub async fn append(&self, meta: &[u8], batch: &RecordBatch) -> Result<u64, BufferError> {
        let mut frame = frame::encode(now_ns(), meta, batch)?;
        let size = frame.len() as u64;
        loop {
            let notified = self.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.lock()?;
                if let Some(why) = &st.failed {
                    return Err(BufferError::Failed(why.clone()));
                }
                if self.progress.borrow().closed {
                    return Err(BufferError::Failed("the buffer is closed".into()));
                }
                if st.pending_bytes == 0 || st.pending_bytes + size <= self.opts.max_bytes {
                    if let Some(since) = st.blocked_since.take() {
                        tracing::info!(buffer = %self.dir.display(), waited_ms = since.elapsed().as_millis() as u64, "buffer: space again, appends resume");
                    }
                    return self.write(&mut st, &mut frame);
                }
                if st.blocked_since.is_none() {
                    st.blocked_since = Some(Instant::now());
                    tracing::warn!(
                        buffer = %self.dir.display(),
                        pending_bytes = st.pending_bytes,
                        max_bytes = self.opts.max_bytes,
                        "buffer full: the slowest consumer is behind; holding back the source until it catches up (nothing is dropped)"
                    );
                }
            }
            notified.await;
        }
    }

    fn write(&self, st: &mut State, frame: &mut [u8]) -> Result<u64, BufferError> {
        let size = frame.len() as u64;
        let roll = match st.segs.back() {
            None => true,
            Some(s) => !s.recs.is_empty() && s.len + size > self.opts.segment_bytes,
        };
        if roll {
            self.roll(st)?;
        }
        let index = st.next;
        frame::seal(frame, index);
        let Some(seg) = st.segs.back_mut() else {
            return Err(BufferError::Failed("no active segment".into()));
        };
        let Some(file) = st.active.as_mut() else {
            return Err(BufferError::Failed("no active segment file".into()));
        };
        if let Err(e) = file.write_all(frame) {
            // Leave no partial frame behind for the next append to follow.
            if let Err(e2) = file.set_len(seg.len) {
                st.failed = Some(format!("write failed ({e}) and could not be undone ({e2})"));
            }
            return Err(BufferError::io(&seg.path, e));
        }
        let appended_ns =
            frame::parse_prefix(&frame[FRAME_HEADER as usize..]).map_or(0, |p| p.appended_ns);
        let rows = frame::parse_prefix(&frame[FRAME_HEADER as usize..]).map_or(0, |p| p.rows);
        seg.recs.push(RecMeta {
            offset: seg.len,
            appended_ns,
            rows,
            bytes: size,
        });
        seg.len += size;
        st.disk_bytes += size;
        st.pending_bytes += size;
        st.next += 1;
        let next = st.next;
        match self.opts.fsync {
            FsyncPolicy::Always => {
                let t = Instant::now();
                if let Some(f) = st.active.as_ref()
                    && let Err(e) = f.sync_data()
                {
                    st.failed = Some(format!("fsync failed: {e}"));
                    return Err(BufferError::Failed(format!("fsync failed: {e}")));
                }
                self.record_fsync(t.elapsed());
                self.progress
                    .send_modify(|p| p.durable = p.durable.max(next));
            }
            FsyncPolicy::Os => self
                .progress
                .send_modify(|p| p.durable = p.durable.max(next)),
            FsyncPolicy::GroupCommit(_) => {}
        }
        Ok(index)
    }

    /// Seals the active segment (fsynced) and starts a new one.
    fn roll(&self, st: &mut State) -> Result<(), BufferError> {
        if let (Some(f), Some(s)) = (st.active.as_ref(), st.segs.back())
            && self.opts.fsync != FsyncPolicy::Os
        {
            f.sync_data().map_err(|e| BufferError::io(&s.path, e))?;
            // Everything in the sealed segment is durable now.
            let end = s.end();
            self.progress
                .send_modify(|p| p.durable = p.durable.max(end));
        }
        let first = st.next;
        let path = segments_dir(&self.dir).join(segment::file_name(first));
        let io = |e| BufferError::io(&path, e);
        let mut f = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        f.write_all(MAGIC).map_err(io)?;
        if self.opts.fsync != FsyncPolicy::Os {
            f.sync_all().map_err(io)?;
            cursor::sync_dir(&segments_dir(&self.dir))?;
        }
        st.disk_bytes += MAGIC.len() as u64;
        st.segs.push_back(Seg {
            first,
            path,
            recs: Vec::new(),
            len: MAGIC.len() as u64,
        });
        st.active = Some(f);
        Ok(())
    }

    fn record_fsync(&self, d: Duration) {
        self.fsyncs.fetch_add(1, Relaxed);
        self.last_fsync_ns.store(d.as_nanos() as u64, Relaxed);
    }

    /// Waits until record `index` is durable. Under group commit, one waiter
    /// at a time fsyncs for everybody, at most once per interval.
    pub async fn wait_durable(&self, index: u64) -> Result<(), BufferError> {
        let mut rx = self.progress.subscribe();
        loop {
            if rx.borrow_and_update().durable > index {
                return Ok(());
            }
            if let FsyncPolicy::GroupCommit(interval) = self.opts.fsync
                && let Ok(_guard) = self.syncer.try_lock()
            {
                self.group_sync(interval).await?;
                continue;
            }
            if let Some(why) = &self.lock()?.failed {
                return Err(BufferError::Failed(why.clone()));
            }
            if rx.changed().await.is_err() {
                return Err(BufferError::Failed("the buffer was dropped".into()));
            }
        }
    }

    async fn group_sync(&self, interval: Duration) -> Result<(), BufferError> {
        let since = self.lock()?.last_sync;
        tokio::time::sleep_until((since + interval).into()).await;
        let (file, target, path) = {
            let st = self.lock()?;
            if let Some(why) = &st.failed {
                return Err(BufferError::Failed(why.clone()));
            }
            let Some(f) = st.active.as_ref() else {
                return Ok(());
            };
            let path = st.segs.back().map(|s| s.path.clone()).unwrap_or_default();
            (
                f.try_clone().map_err(|e| BufferError::io(&path, e))?,
                st.next,
                path,
            )
        };
        let t = Instant::now();
        let synced = tokio::task::spawn_blocking(move || file.sync_data())
            .await
            .map_err(|e| BufferError::Failed(format!("fsync task: {e}")))?;
        let mut st = self.lock()?;
        // Windows are measured from fsync start to fsync start, so a slow
        // fsync does not stretch the interval on top of itself.
        st.last_sync = t;
        if let Err(e) = synced {
            // After a failed fsync the kernel may have dropped the dirty
            // pages: nothing written since the last good fsync can be trusted.
            st.failed = Some(format!("fsync of {} failed: {e}", path.display()));
            self.progress.send_modify(|_| {});
            return Err(BufferError::io(&path, e));
        }
        self.record_fsync(t.elapsed());
        self.progress
            .send_modify(|p| p.durable = p.durable.max(target));
        Ok(())
    }

    /// No more appends: fsyncs what is left and lets readers end at the tail.
    pub fn close(&self) -> Result<(), BufferError> {
        let st = self.lock()?;
        if let Some(f) = st.active.as_ref()
            && self.opts.fsync != FsyncPolicy::Os
        {
            let path = st.segs.back().map(|s| s.path.clone()).unwrap_or_default();
            f.sync_data().map_err(|e| BufferError::io(&path, e))?;
        }
        let next = st.next;
        self.progress.send_modify(|p| {
            p.durable = p.durable.max(next);
            p.closed = true;
        });
        Ok(())
    }

    /// Subscribes to durability progress.
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// A reader for consumer `name` (one of those given to [`Buffer::open`]),
    /// positioned at its committed cursor, or at the oldest retained record
    /// for a consumer that never committed.
    pub fn reader(self: &Arc<Self>, name: &str) -> Result<Reader, BufferError> {
        let key = cursor::key(name);
        let st = self.lock()?;
        let Some(next) = st.cursors.get(&key).copied() else {
            return Err(BufferError::Failed(format!(
                "`{name}` is not a consumer of this buffer"
            )));
        };
        Ok(Reader {
            buf: Arc::clone(self),
            key,
            next,
            file: None,
        })
    }

    /// Durably records that consumer `name` is done with every record below `next`,
    /// and deletes segments every consumer is done with.
    pub fn commit(&self, name: &str, next: u64) -> Result<(), BufferError> {
        let key = cursor::key(name);
        {
            let st = self.lock()?;
            match st.cursors.get(&key) {
                None => {
                    return Err(BufferError::Failed(format!(
                        "`{name}` is not a consumer of this buffer"
                    )));
                }
                Some(at) if next <= *at => return Ok(()),
                Some(_) if next > st.next => {
                    return Err(BufferError::Failed(format!(
                        "cursor {next} is past the end ({})",
                        st.next
                    )));
                }
                Some(_) => {}
            }
        }
        cursor::store(&cursors_dir(&self.dir), &key, next)?;
        let mut st = self.lock()?;
        st.cursors.insert(key, next);
        self.collect(&mut st)?;
        drop(st);
        self.space.notify_waiters();
        Ok(())
    }

    /// Advances the low-water mark and deletes fully consumed sealed segments.
    fn collect(&self, st: &mut State) -> Result<(), BufferError> {
        let low = st
            .consumers
            .iter()
            .filter_map(|c| st.cursors.get(c))
            .copied()
            .min()
            .unwrap_or(st.next);
        if low > st.low {
            let mut freed = 0;
            for s in &st.segs {
                for (i, r) in s.recs.iter().enumerate() {
                    let idx = s.first + i as u64;
                    if idx >= st.low && idx < low {
                        freed += r.bytes;
                    }
                }
            }
            st.pending_bytes = st.pending_bytes.saturating_sub(freed);
            st.low = low;
        }
        while st.segs.len() > 1 && st.segs.front().is_some_and(|s| s.end() <= low) {
            if let Some(s) = st.segs.pop_front() {
                std::fs::remove_file(&s.path).map_err(|e| BufferError::io(&s.path, e))?;
                st.disk_bytes = st.disk_bytes.saturating_sub(s.len);
            }
        }
        Ok(())
    }

    /// Current figures.
    pub fn stats(&self) -> BufferStats {
        let Ok(st) = self.lock() else {
            return BufferStats::default();
        };
        let oldest = st
            .segs
            .iter()
            .find(|s| s.end() > st.low && s.first <= st.low)
            .and_then(|s| s.recs.get((st.low - s.first) as usize))
            .map(|r| Duration::from_nanos((now_ns() - r.appended_ns).max(0) as u64));
        BufferStats {
            disk_bytes: st.disk_bytes,
            segments: st.segs.len() as u64,
            pending_bytes: st.pending_bytes,
            pending_records: st.next - st.low,
            oldest_unconsumed: oldest,
            blocked_for: st.blocked_since.map(|s| s.elapsed()),
            fsyncs: self.fsyncs.load(Relaxed),
            last_fsync: Duration::from_nanos(self.last_fsync_ns.load(Relaxed)),
        }
    }

    fn locate(&self, index: u64) -> Result<(u64, PathBuf, RecMeta), BufferError> {
        let st = self.lock()?;
        let seg = st
            .segs
            .iter()
            .find(|s| s.first <= index && index < s.end())
            .ok_or_else(|| {
                BufferError::Failed(format!("record {index} is no longer in the buffer"))
            })?;
        let meta = seg.recs[(index - seg.first) as usize];
        Ok((seg.first, seg.path.clone(), meta))
    }
}

/// Reads one consumer's records in order. See [`Buffer::reader`].
pub struct Reader {
    buf: Arc<Buffer>,
    key: String,
    next: u64,
    file: Option<(u64, File)>,
}

impl Reader {
    /// The index of the next record this reader returns.
    pub fn position(&self) -> u64 {
        self.next
    }

    /// The buffer read from.
    pub fn buffer(&self) -> &Arc<Buffer> {
        &self.buf
    }

    /// The consumer name this reader commits as.
    pub fn consumer(&self) -> &str {
        &self.key
    }

    /// Waits for the next durable record; `None` once the buffer is closed
    /// and everything was read. A record that fails its checksum is an
    /// error naming segment and offset, and the reader does not move past it.
    pub async fn next(&mut self) -> Result<Option<Record>, BufferError> {
        let mut rx = self.buf.progress();
        loop {
            let p = *rx.borrow_and_update();
            if p.durable > self.next {
                break;
            }
            if p.closed {
                return Ok(None);
            }
            if let Some(why) = &self.buf.lock()?.failed {
                return Err(BufferError::Failed(why.clone()));
            }
            if rx.changed().await.is_err() {
                return Ok(None);
            }
        }
        let (first, path, meta) = self.buf.locate(self.next)?;
        if self.file.as_ref().is_none_or(|(f, _)| *f != first) {
            let f = File::open(&path).map_err(|e| BufferError::io(&path, e))?;
            self.file = Some((first, f));
        }
        let Some((_, file)) = self.file.as_ref() else {
            return Err(BufferError::Failed("segment not open".into()));
        };
        let mut buf = vec![0u8; meta.bytes as usize];
        file.read_exact_at(&mut buf, meta.offset)
            .map_err(|e| BufferError::io(&path, e))?;
        let bad = |reason: String| BufferError::Corrupt {
            segment: path.clone(),
            offset: meta.offset,
            reason,
        };
        let mut h = [0u8; 8];
        h.copy_from_slice(&buf[..8]);
        let (len, crc) = frame::parse_header(&h);
        if len as u64 + FRAME_HEADER != meta.bytes {
            return Err(bad(format!(
                "frame length {len} changed since it was written"
            )));
        }
        let actual = crc32c::crc32c(&buf[8..]);
        if actual != crc {
            return Err(bad(format!(
                "checksum mismatch (stored {crc:08x}, computed {actual:08x})"
            )));
        }
        let record = frame::decode(&path, meta.offset, &buf[8..])?;
        if record.index != self.next {
            return Err(bad(format!(
                "holds record {}, expected {}",
                record.index, self.next
            )));
        }
        self.next += 1;
        Ok(Some(record))
    }

    /// Commits everything below `next` for this consumer.
    pub fn commit(&self, next: u64) -> Result<(), BufferError> {
        self.buf.commit(&self.key, next)
    }
}
