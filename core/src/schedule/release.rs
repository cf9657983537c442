//! One release being watched: its period, expected time, polls, SLA alarm
//! and give-up time, and how a pass's batches count towards seeing it.

use super::spec::ReleaseSpec;
use chrono::{DateTime, NaiveDate, Utc};
use qdp_sdk::arrow::array::{Array, RecordBatch, TimestampNanosecondArray};
use qdp_sdk::calendar::ReleaseCalendar;

/// The release a calendar source is waiting for.
#[derive(Debug, Clone, PartialEq)]
pub struct Watch {
    /// Its period (week ending, report date).
    pub period: NaiveDate,
    /// When the calendar says it comes out.
    pub expected: DateTime<Utc>,
    /// Passes run for it so far.
    pub polls: u32,
    /// When the next pass runs.
    pub next_poll: DateTime<Utc>,
    /// When it is given up on (`missed`).
    pub give_up_at: DateTime<Utc>,
    /// When it is late (`expected + sla`), if an SLA is set.
    pub sla_at: Option<DateTime<Utc>>,
    /// The late alert was sent.
    pub alerted: bool,
    /// Category rows of the release seen in the current pass.
    pub pass_rows: u64,
}

impl Watch {
    /// Watches the release of `period`, polling from its expected time (or
    /// from `now`, for a release already due).
    pub fn new(spec: &ReleaseSpec, period: NaiveDate, now: DateTime<Utc>) -> Self {
        let expected = spec.calendar.release_time(period);
        let start = expected.max(now);
        let span = |d: std::time::Duration| {
            chrono::Duration::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
        };
        Self {
            period,
            expected,
            polls: 0,
            next_poll: start,
            give_up_at: start + span(spec.poll.give_up_after),
            sla_at: spec.sla.map(|s| expected + span(s)),
            alerted: false,
            pass_rows: 0,
        }
    }

    /// The release after this one.
    pub fn following(&self, spec: &ReleaseSpec, now: DateTime<Utc>) -> Self {
        let (period, _) = spec.calendar.next_release(self.expected);
        Self::new(spec, period, now)
    }

    /// The SLA passed and no alert was sent yet.
    pub fn alarm_due(&self, now: DateTime<Utc>) -> bool {
        !self.alerted && self.sla_at.is_some_and(|t| now >= t)
    }

    /// The next moment something happens: a pass or the SLA alarm.
    pub fn next_wake(&self) -> DateTime<Utc> {
        match self.sla_at {
            Some(t) if !self.alerted => t.min(self.next_poll),
            _ => self.next_poll,
        }
    }

    /// After an unsuccessful pass at `now`: the next pass time, backing off,
    /// never later than the give-up time.
    pub fn back_off(&mut self, spec: &ReleaseSpec, now: DateTime<Utc>) {
        let wait = chrono::Duration::from_std(spec.poll.wait_after(self.polls))
            .unwrap_or(chrono::TimeDelta::MAX);
        self.next_poll = (now + wait).min(self.give_up_at);
    }

    /// Counts the rows of `data` (category `category` on `port`) that belong
    /// to the release: category rows, not raw objects nor unqualified rows,
    /// whose designated timestamp is at or after the expected time.
    pub fn observe(&mut self, category: &str, port: Option<&str>, data: &RecordBatch) {
        self.pass_rows += release_rows(category, port, data, self.expected);
    }

    /// `calendar` name and period text, as stored.
    pub fn key(&self, calendar: ReleaseCalendar) -> (&'static str, String) {
        (calendar.name(), self.period.to_string())
    }
}

/// Rows of a category batch whose designated timestamp is at or after `at`.
pub fn release_rows(
    category: &str,
    port: Option<&str>,
    data: &RecordBatch,
    at: DateTime<Utc>,
) -> u64 {
    if port == Some("unqualified")
        || category == qdp_sdk::raw::RAW_OBJECT
        || category.ends_with("_unqualified")
    {
        return 0;
    }
    let Some(field) = qdp_sdk::schema::registry()
        .get(category)
        .and_then(|s| s.timestamp.clone())
    else {
        return 0;
    };
    let Some(col) = data
        .column_by_name(&field)
        .and_then(|c| c.as_any().downcast_ref::<TimestampNanosecondArray>())
    else {
        return 0;
    };
    let Some(bound) = at.timestamp_nanos_opt() else {
        return 0;
    };
    (0..col.len())
        .filter(|i| col.is_valid(*i) && col.value(*i) >= bound)
        .count() as u64
}
