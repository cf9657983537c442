//! What a source's schedule says, once parsed: a cron expression in a time
//! zone, or a release calendar polled with backoff.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use qdp_sdk::calendar::ReleaseCalendar;
use std::str::FromStr;
use std::time::Duration;

/// When a batch source runs its passes.
#[derive(Debug, Clone)]
pub enum ScheduleSpec {
    /// `schedule = "0 */5 * * * *"` (+ `timezone`): a pass at every cron time.
    Cron(Box<CronSpec>),
    /// `release_calendar = "eia_wpsr"` (+ `poll`, `sla`): passes from each
    /// expected release time until the release is seen.
    Release(ReleaseSpec),
}

/// A cron schedule in a time zone.
#[derive(Debug, Clone)]
pub struct CronSpec {
    /// The expression as written, for logs.
    pub text: String,
    /// The parsed expression.
    pub schedule: cron::Schedule,
    /// The zone its fields are read in (default UTC).
    pub timezone: Tz,
}

impl CronSpec {
    /// Parses `text` (6 or 7 fields: seconds first) read in `timezone`.
    pub fn parse(text: &str, timezone: Tz) -> Result<Self, String> {
        let schedule = cron::Schedule::from_str(text.trim()).map_err(|e| e.to_string())?;
        if schedule.upcoming(Utc).next().is_none() {
            return Err("the expression never fires".into());
        }
        Ok(Self {
            text: text.trim().to_string(),
            schedule,
            timezone,
        })
    }

    /// The first cron time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule
            .after(&after.with_timezone(&self.timezone))
            .next()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The latest cron time at or before `at`.
    pub fn last_at_or_before(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let just_after = at + chrono::Duration::seconds(1);
        self.schedule
            .after(&just_after.with_timezone(&self.timezone))
            .next_back()
            .map(|t| t.with_timezone(&Utc))
            .filter(|t| *t <= at)
    }

    /// Cron times in `(after, upto]`, at most `limit` of them.
    pub fn between(
        &self,
        after: DateTime<Utc>,
        upto: DateTime<Utc>,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        self.schedule
            .after(&after.with_timezone(&self.timezone))
            .map(|t| t.with_timezone(&Utc))
            .take_while(|t| *t <= upto)
            .take(limit)
            .collect()
    }
}

/// Polling a release calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSpec {
    /// Which calendar.
    pub calendar: ReleaseCalendar,
    /// How often to repeat the pass until the release is seen.
    pub poll: PollPolicy,
    /// How late a load may be before it is `late` and an alert fires.
    pub sla: Option<Duration>,
}

/// `poll = { every = "1m", max = "10m", give_up_after = "6h" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollPolicy {
    /// The first wait between two passes.
    pub every: Duration,
    /// The longest wait (the wait doubles from `every` up to this).
    pub max: Duration,
    /// After this long without seeing the release it is `missed`.
    pub give_up_after: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(60),
            max: Duration::from_secs(600),
            give_up_after: Duration::from_secs(6 * 3600),
        }
    }
}

impl PollPolicy {
    /// The wait after the `polls`-th unsuccessful pass (1-based): `every`,
    /// doubling, capped at `max`.
    pub fn wait_after(&self, polls: u32) -> Duration {
        let factor = 1u32 << polls.saturating_sub(1).min(20);
        self.every
            .saturating_mul(factor)
            .min(self.max.max(self.every))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn backoff_doubles_from_every_up_to_max() {
        let p = PollPolicy::default();
        let waits: Vec<u64> = (1..=6).map(|n| p.wait_after(n).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 600, 600]);
    }

    #[test]
    fn cron_is_read_in_its_time_zone() {
        let c = CronSpec::parse("0 30 10 * * Wed", chrono_tz::America::New_York).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 4, 27, 0, 0, 0).unwrap();
        let next = c.next_after(after).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-04-29T14:30:00+00:00");
        assert!(CronSpec::parse("every tuesday", Tz::UTC).is_err());
        let two = c.between(after, next + chrono::Duration::days(7), 10);
        assert_eq!(two.len(), 2);
        assert_eq!(c.last_at_or_before(next), Some(next));
        assert_eq!(
            c.last_at_or_before(next - chrono::Duration::seconds(1)),
            Some(next - chrono::Duration::days(7))
        );
    }
}
