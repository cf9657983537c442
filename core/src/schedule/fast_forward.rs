//! A clock for release drills: a year of weekly releases in minutes.
//!
//! [`FastForwardClock`] runs at wall speed while anything happens (a pass
//! fetching, retrying after a 429, loading), so those durations are real;
//! the moment every scheduled source of the pipeline waits for its next
//! pass, it jumps to the earliest of their deadlines instead of waiting. The
//! offset from the wall clock lives in a file, so a process killed and
//! started again goes on at the same simulated time, and a stand-in
//! publisher reads the same file to know what "now" is for the pipeline.
//!
//! Only the scheduler's waits jump: anything else that is sleeping (a
//! streaming source, a sink's flush timer) sees real time pass, so the clock
//! suits pipelines whose sources are all scheduled.

use super::clock::{Clock, Sleep};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::watch;

#[derive(Debug, Clone, Default)]
struct State {
    /// Simulated time minus wall time, in nanoseconds.
    offset_ns: i64,
    /// Who waits until when.
    sleepers: BTreeMap<u64, DateTime<Utc>>,
    /// How many waiters mean "every scheduled source is idle".
    sources: usize,
}

/// The wall clock shifted by an offset that grows whenever every scheduled
/// source is waiting; the offset is kept in a file.
#[derive(Debug, Clone)]
pub struct FastForwardClock {
    path: PathBuf,
    state: Arc<watch::Sender<State>>,
    ids: Arc<AtomicU64>,
}

/// Reads the offset a clock file holds (`offset_ns=<n>`).
pub fn read_offset(path: &Path) -> std::io::Result<i64> {
    let text = std::fs::read_to_string(path)?;
    text.trim()
        .strip_prefix("offset_ns=")
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{}: expected one line `offset_ns=<integer>`, found `{}`",
                    path.display(),
                    text.trim()
                ),
            )
        })
}

/// Writes `offset_ns` to `path` atomically (a reader never sees half a file).
pub fn write_offset(path: &Path, offset_ns: i64) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("offset_ns={offset_ns}\n"))?;
    std::fs::rename(&tmp, path)
}

/// The simulated time of a clock file: the wall clock plus its offset.
pub fn now_in(path: &Path) -> std::io::Result<DateTime<Utc>> {
    Ok(Utc::now() + Duration::nanoseconds(read_offset(path)?))
}

impl FastForwardClock {
    /// The clock kept in `path`: its offset when the file exists, otherwise
    /// the wall clock (and the file is created).
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let offset_ns = match read_offset(path) {
            Ok(o) => o,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                write_offset(path, 0)?;
                0
            }
            Err(e) => return Err(e),
        };
        let (tx, _) = watch::channel(State {
            offset_ns,
            ..State::default()
        });
        Ok(Self {
            path: path.to_path_buf(),
            state: Arc::new(tx),
            ids: Arc::default(),
        })
    }

    /// Jumps to the earliest deadline once every scheduled source waits.
    fn jump_if_idle(&self) {
        let mut jumped = None;
        self.state.send_if_modified(|s| {
            if s.sources == 0 || s.sleepers.len() < s.sources {
                return false;
            }
            let Some(target) = s.sleepers.values().min().copied() else {
                return false;
            };
            let now = Utc::now() + Duration::nanoseconds(s.offset_ns);
            let gap = (target - now).num_nanoseconds().unwrap_or(i64::MAX);
            if gap <= 0 {
                return false;
            }
            s.offset_ns = s.offset_ns.saturating_add(gap);
            jumped = Some((s.offset_ns, target));
            true
        });
        if let Some((offset, to)) = jumped {
            tracing::debug!(%to, "every scheduled source waits: the clock jumps");
            if let Err(e) = write_offset(&self.path, offset) {
                tracing::error!(path = %self.path.display(), error = %e, "cannot keep the clock offset");
            }
        }
    }
}

/// Removes a sleeper when its wait ends or is dropped.
struct Registered<'a> {
    clock: &'a FastForwardClock,
    id: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.clock.state.send_if_modified(|s| {
            s.sleepers.remove(&self.id);
            false
        });
    }
}

impl Clock for FastForwardClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::nanoseconds(self.state.borrow().offset_ns)
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> Sleep<'_> {
        Box::pin(async move {
            let id = self.ids.fetch_add(1, Ordering::Relaxed);
            let mut rx = self.state.subscribe();
            self.state.send_if_modified(|s| {
                s.sleepers.insert(id, at);
                false
            });
            let _registered = Registered { clock: self, id };
            self.jump_if_idle();
            loop {
                let Ok(left) = (at - self.now()).to_std() else {
                    return;
                };
                if left.is_zero() {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(left) => {}
                    changed = rx.changed() => if changed.is_err() { return },
                }
            }
        })
    }

    fn scheduled_sources(&self, n: usize) {
        self.state.send_if_modified(|s| {
            s.sources = n;
            false
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn jumps_only_when_every_source_waits_and_keeps_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clock");
        let clock = FastForwardClock::open(&path).unwrap();
        assert_eq!(read_offset(&path).unwrap(), 0);
        clock.scheduled_sources(2);
        let far = clock.now() + Duration::days(7);
        let near = clock.now() + Duration::hours(1);
        // One source waits a week: the other is still busy, no jump.
        let c = clock.clone();
        let week = tokio::spawn(async move { c.sleep_until(far).await });
        tokio::task::yield_now().await;
        assert!(clock.now() < near, "no jump while a source is busy");
        // The second waits an hour: both idle, the clock jumps an hour.
        clock.sleep_until(near).await;
        assert!(clock.now() >= near && clock.now() < far);
        assert!(!week.is_finished());
        let kept = read_offset(&path).unwrap();
        assert!(kept >= Duration::minutes(59).num_nanoseconds().unwrap());
        // A restarted process goes on at the same simulated time.
        let again = FastForwardClock::open(&path).unwrap();
        assert!((again.now() - clock.now()).abs() < Duration::seconds(5));
        week.abort();
        std::fs::write(&path, "garbage").unwrap();
        let err = FastForwardClock::open(&path).unwrap_err().to_string();
        assert!(err.contains("offset_ns="), "{err}");
    }
}
