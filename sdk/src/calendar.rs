//! Release calendars: when a scheduled publication comes out.
//!
//! Connectors use [`ReleaseCalendar::release_time`] to stamp rows with the
//! publication time of their period (a stable key, see ADR 0002); the runtime
//! uses [`ReleaseCalendar::next_release`] to know when to start polling.
//!
//! The rules are the publishers' own: EIA's Weekly Petroleum Status Report
//! comes out Wednesday 10:30 America/New_York for the week ending the Friday
//! before, a day later for each federal holiday earlier in that week; CFTC's
//! Commitments of Traders comes out Friday 15:30 America/New_York for the
//! Tuesday before, and on the next business day when a federal holiday falls
//! in that week.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::America::New_York;

/// A publisher's release calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReleaseCalendar {
    /// EIA Weekly Petroleum Status Report; periods are week-ending Fridays.
    EiaWpsr,
    /// CFTC Commitments of Traders; periods are report-date Tuesdays.
    CftcCot,
}

impl ReleaseCalendar {
    /// Every calendar, for error messages.
    pub const ALL: [ReleaseCalendar; 2] = [ReleaseCalendar::EiaWpsr, ReleaseCalendar::CftcCot];

    /// The name used in pipeline files (`release_calendar = "eia_wpsr"`).
    pub fn name(self) -> &'static str {
        match self {
            ReleaseCalendar::EiaWpsr => "eia_wpsr",
            ReleaseCalendar::CftcCot => "cftc_cot",
        }
    }

    /// The calendar called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The weekday periods end on.
    pub fn period_weekday(self) -> Weekday {
        match self {
            ReleaseCalendar::EiaWpsr => Weekday::Fri,
            ReleaseCalendar::CftcCot => Weekday::Tue,
        }
    }

    /// The period a date belongs to: the last period day on or before it.
    pub fn period_of(self, date: NaiveDate) -> NaiveDate {
        let target = self.period_weekday().num_days_from_monday() as i64;
        let today = date.weekday().num_days_from_monday() as i64;
        date - Duration::days((today - target).rem_euclid(7))
    }

    /// When the release covering `period` is (or was) scheduled to come out, UTC.
    pub fn release_time(self, period: NaiveDate) -> DateTime<Utc> {
        let period = self.period_of(period);
        let (day, hour, minute) = match self {
            ReleaseCalendar::EiaWpsr => (wpsr_day(period), 10, 30),
            ReleaseCalendar::CftcCot => (cot_day(period), 15, 30),
        };
        new_york(day, hour, minute)
    }

    /// The first release strictly after `after`: its period and time.
    pub fn next_release(self, after: DateTime<Utc>) -> (NaiveDate, DateTime<Utc>) {
        let mut period = self.period_of(after.date_naive()) - Duration::days(14);
        loop {
            let at = self.release_time(period);
            if at > after {
                return (period, at);
            }
            period += Duration::days(7);
        }
    }

    /// The latest release at or before `now`: its period and time.
    pub fn last_release(self, now: DateTime<Utc>) -> (NaiveDate, DateTime<Utc>) {
        let (next, _) = self.next_release(now);
        let period = next - Duration::days(7);
        (period, self.release_time(period))
    }
}

/// WPSR: Wednesday after the week ending `friday`, one day later for each
/// federal holiday on the Monday to Wednesday before it, and never on a holiday.
fn wpsr_day(friday: NaiveDate) -> NaiveDate {
    let monday = friday + Duration::days(3);
    let mut day = friday + Duration::days(5);
    let holidays = us_federal_holidays_around(monday);
    let shift = (0..3)
        .filter(|d| holidays.contains(&(monday + Duration::days(*d))))
        .count() as i64;
    day += Duration::days(shift);
    while holidays.contains(&day) || day.weekday() == Weekday::Sat || day.weekday() == Weekday::Sun
    {
        day += Duration::days(1);
    }
    day
}

/// COT: Friday after the report-date `tuesday`; when a federal holiday falls
/// in the Monday-to-Friday of that week, the next business day after Friday.
fn cot_day(tuesday: NaiveDate) -> NaiveDate {
    let monday = tuesday - Duration::days(1);
    let friday = tuesday + Duration::days(3);
    let holidays = us_federal_holidays_around(monday);
    let in_week = (0..5).any(|d| holidays.contains(&(monday + Duration::days(d))));
    if !in_week {
        return friday;
    }
    let mut day = friday + Duration::days(1);
    while holidays.contains(&day) || day.weekday() == Weekday::Sat || day.weekday() == Weekday::Sun
    {
        day += Duration::days(1);
    }
    day
}

fn new_york(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let local = day.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or_default());
    // 10:30 and 15:30 never fall in a DST gap or overlap (those are at 02:00).
    New_York
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&local))
}

fn us_federal_holidays_around(day: NaiveDate) -> Vec<NaiveDate> {
    let mut all = us_federal_holidays(day.year() - 1);
    all.extend(us_federal_holidays(day.year()));
    all.extend(us_federal_holidays(day.year() + 1));
    all
}

/// U.S. federal holidays of `year` as observed (Saturday → Friday, Sunday → Monday).
pub fn us_federal_holidays(year: i32) -> Vec<NaiveDate> {
    let fixed = |m: u32, d: u32| NaiveDate::from_ymd_opt(year, m, d).map(observed);
    let nth = |m: u32, wd: Weekday, n: u8| NaiveDate::from_weekday_of_month_opt(year, m, wd, n);
    let last_monday_of_may = (1..=31)
        .rev()
        .filter_map(|d| NaiveDate::from_ymd_opt(year, 5, d))
        .find(|d| d.weekday() == Weekday::Mon);
    let mut days = vec![
        fixed(1, 1),
        nth(1, Weekday::Mon, 3),
        nth(2, Weekday::Mon, 3),
        last_monday_of_may,
        fixed(7, 4),
        nth(9, Weekday::Mon, 1),
        nth(10, Weekday::Mon, 2),
        fixed(11, 11),
        nth(11, Weekday::Thu, 4),
        fixed(12, 25),
    ];
    if year >= 2021 {
        days.push(fixed(6, 19));
    }
    let mut days: Vec<NaiveDate> = days.into_iter().flatten().collect();
    days.sort();
    days
}

fn observed(day: NaiveDate) -> NaiveDate {
    match day.weekday() {
        Weekday::Sat => day - Duration::days(1),
        Weekday::Sun => day + Duration::days(1),
        _ => day,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn wpsr_is_wednesday_1030_new_york() {
        // Week ending Friday 2026-04-24 → Wednesday 2026-04-29 10:30 EDT = 14:30Z.
        let t = ReleaseCalendar::EiaWpsr.release_time(d(2026, 4, 24));
        assert_eq!(t.to_rfc3339(), "2026-04-29T14:30:00+00:00");
    }

    #[test]
    fn wpsr_moves_to_thursday_after_memorial_day() {
        // Memorial Day 2026-05-25 → week ending 05-22 released Thursday 05-28.
        let t = ReleaseCalendar::EiaWpsr.release_time(d(2026, 5, 22));
        assert_eq!(t.date_naive(), d(2026, 5, 28));
    }

    #[test]
    fn cot_is_friday_1530_and_shifts_after_a_holiday_week() {
        let t = ReleaseCalendar::CftcCot.release_time(d(2026, 4, 21));
        assert_eq!(t.to_rfc3339(), "2026-04-24T19:30:00+00:00");
        // Thanksgiving week 2026 (Thu 11-26): report date Tue 11-24 → Mon 11-30.
        let t = ReleaseCalendar::CftcCot.release_time(d(2026, 11, 24));
        assert_eq!(t.date_naive(), d(2026, 11, 30));
    }

    #[test]
    fn next_release_is_strictly_after() {
        let at = ReleaseCalendar::EiaWpsr.release_time(d(2026, 4, 24));
        let (period, next) = ReleaseCalendar::EiaWpsr.next_release(at);
        assert_eq!(period, d(2026, 5, 1));
        assert!(next > at);
        assert_eq!(ReleaseCalendar::EiaWpsr.last_release(at).0, d(2026, 4, 24));
    }
}
