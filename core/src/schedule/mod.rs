//! Scheduling batch sources: cron schedules and release calendars.
//!
//! A source with `schedule` (cron, in a `timezone`) or `release_calendar`
//! (with `poll` and `sla`) in its pipeline table is run in passes (ADR 0002):
//! `start(checkpoint)`, `next_batch` until `None`, acknowledgement once
//! every sink committed; the [`Scheduler`] decides when the next pass runs.
//! Under a release calendar it waits for the expected time of the next
//! period, then repeats the pass with backoff until a category row stamped
//! at or after that time is seen, and records the release in
//! `ops.release_sla` (Postgres) or `<data_dir>/ops/release_sla.jsonl`, with
//! metrics and webhook alerts when the SLA passes.
//!
//! Time comes from a [`Clock`], so tests move it instead of waiting.

pub mod alert;
pub mod clock;
pub mod fast_forward;
pub mod metrics;
pub mod postgres;
pub mod release;
pub mod runner;
pub mod sla;
pub mod spec;

pub use clock::{Clock, SystemClock, TestClock};
pub use fast_forward::FastForwardClock;
pub use metrics::ReleaseMetrics;
pub use runner::{SchedEnv, Scheduler, Wake};
pub use spec::{CronSpec, PollPolicy, ReleaseSpec, ScheduleSpec};

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future of a fallible result: what the store traits
/// return, so they can be used as trait objects.
pub type BoxResult<'a, T> = Pin<Box<dyn Future<Output = qdp_sdk::Result<T>> + Send + 'a>>;
