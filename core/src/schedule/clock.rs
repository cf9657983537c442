//! The clock the scheduler reads and sleeps on.
//!
//! Release calendars are weekly, so tests cannot wait for Wednesday: the
//! runtime takes a [`Clock`] through its options. [`SystemClock`] is the
//! wall clock; [`TestClock`] stands still until a test moves it, and tells
//! the test what its sleepers wait for, so a test advances exactly to the
//! next deadline instead of sleeping.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::watch;

/// A boxed future, so the clock can be used as a trait object.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Where "now" comes from, and how to wait for a moment.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// Resolves once `now() >= at`.
    fn sleep_until(&self, at: DateTime<Utc>) -> Sleep<'_>;
    /// Told once, before any pass, how many scheduled sources wait on this
    /// clock (a [`super::FastForwardClock`] jumps when all of them do).
    fn scheduled_sources(&self, _n: usize) {}
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> Sleep<'_> {
        Box::pin(async move {
            // Re-check after waking: the wall clock may have been adjusted.
            loop {
                let left = at - Utc::now();
                let Ok(left) = left.to_std() else { return };
                if left.is_zero() {
                    return;
                }
                tokio::time::sleep(left).await;
            }
        })
    }
}

/// What a [`TestClock`] knows: the time and who sleeps until when.
#[derive(Debug, Clone)]
struct TestState {
    now: DateTime<Utc>,
    sleepers: BTreeMap<u64, DateTime<Utc>>,
}

/// A clock that only moves when told to.
#[derive(Debug, Clone)]
pub struct TestClock {
    state: Arc<watch::Sender<TestState>>,
    ids: Arc<AtomicU64>,
}

impl TestClock {
    /// A clock standing at `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        let (tx, _) = watch::channel(TestState {
            now,
            sleepers: BTreeMap::new(),
        });
        Self {
            state: Arc::new(tx),
            ids: Arc::default(),
        }
    }

    /// Moves the clock to `at` (never backwards) and wakes who is due.
    pub fn set(&self, at: DateTime<Utc>) {
        self.state.send_modify(|s| s.now = s.now.max(at));
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: chrono::Duration) {
        self.state.send_modify(|s| s.now += d);
    }

    /// Waits until someone sleeps until a moment still in the future, and
    /// returns the earliest such moment.
    pub async fn next_deadline(&self) -> DateTime<Utc> {
        let mut rx = self.state.subscribe();
        let pending = |s: &TestState| s.sleepers.values().filter(|t| **t > s.now).min().copied();
        match rx.wait_for(|s| pending(s).is_some()).await {
            Ok(s) => pending(&s).unwrap_or(s.now),
            Err(_) => std::future::pending().await,
        }
    }

    /// Waits for the next deadline and moves the clock to it; returns it.
    pub async fn advance_to_next(&self) -> DateTime<Utc> {
        let at = self.next_deadline().await;
        self.set(at);
        at
    }
}

/// Removes a sleeper when its future ends or is dropped (a cancelled sleep).
struct Registered<'a> {
    clock: &'a TestClock,
    id: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.clock.state.send_modify(|s| {
            s.sleepers.remove(&self.id);
        });
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        self.state.borrow().now
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> Sleep<'_> {
        Box::pin(async move {
            let id = self.ids.fetch_add(1, Ordering::Relaxed);
            let mut rx = self.state.subscribe();
            self.state.send_modify(|s| {
                s.sleepers.insert(id, at);
            });
            let _registered = Registered { clock: self, id };
            let _ = rx.wait_for(|s| s.now >= at).await;
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    async fn a_test_clock_wakes_sleepers_when_moved_and_reports_deadlines() {
        let t0 = Utc.with_ymd_and_hms(2026, 4, 29, 14, 0, 0).unwrap();
        let clock = TestClock::new(t0);
        let c = clock.clone();
        let at = t0 + chrono::Duration::minutes(30);
        let sleeper = tokio::spawn(async move {
            c.sleep_until(at).await;
            c.now()
        });
        assert_eq!(clock.next_deadline().await, at);
        clock.advance(chrono::Duration::minutes(10));
        assert!(!sleeper.is_finished(), "not due before {at}");
        assert_eq!(clock.advance_to_next().await, at);
        assert_eq!(sleeper.await.unwrap(), at);
    }
}
