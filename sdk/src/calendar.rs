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
//!
//! Where the real date of a past release is known it wins over the rule:
//! EIA's archive of WPSR releases from August 2011 to April 2017 and its
//! 2016–2017 holiday schedule are kept in [`WPSR_ACTUAL`]. They show what
//! the rule cannot know: holiday releases on Thursday at 11:00 (not 10:30),
//! year-end releases on Friday, the Monday catch-up after the October 2013
//! government shutdown, and holiday weeks EIA did not shift.

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
            ReleaseCalendar::EiaWpsr => wpsr_actual(period).unwrap_or((wpsr_day(period), 10, 30)),
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

/// The recorded release of the week ending `friday`: day, hour, minute (New York).
fn wpsr_actual(friday: NaiveDate) -> Option<(NaiveDate, u32, u32)> {
    let key = friday.year() as u32 * 10000 + friday.month() * 100 + friday.day();
    let i = WPSR_ACTUAL.binary_search_by_key(&key, |r| r.0).ok()?;
    let (_, day, hhmm) = WPSR_ACTUAL[i];
    let day = NaiveDate::from_ymd_opt((day / 10000) as i32, day / 100 % 100, day % 100)?;
    Some((day, hhmm / 100, hhmm % 100))
}

/// EIA's actual WPSR release dates, 2011-07-29 to 2017-12-29 (week ending, release day, HHMM
/// America/New_York): transcribed from EIA's release archive and its 2016–2017 holiday
/// schedule (Thursday releases at 11:00). Consulted before the rule.
const WPSR_ACTUAL: [(u32, u32, u32); 306] = [
    (20110729, 20110803, 1030),
    (20110805, 20110810, 1030),
    (20110812, 20110817, 1030),
    (20110819, 20110824, 1030),
    (20110826, 20110831, 1030),
    (20110902, 20110908, 1030),
    (20110909, 20110914, 1030),
    (20110916, 20110921, 1030),
    (20110923, 20110928, 1030),
    (20110930, 20111005, 1030),
    (20111007, 20111013, 1030),
    (20111014, 20111019, 1030),
    (20111021, 20111026, 1030),
    (20111028, 20111102, 1030),
    (20111104, 20111109, 1030),
    (20111111, 20111116, 1030),
    (20111118, 20111123, 1030),
    (20111125, 20111130, 1030),
    (20111202, 20111207, 1030),
    (20111209, 20111214, 1030),
    (20111216, 20111221, 1030),
    (20111223, 20111229, 1030),
    (20111230, 20120105, 1030),
    (20120106, 20120111, 1030),
    (20120113, 20120119, 1030),
    (20120120, 20120125, 1030),
    (20120127, 20120201, 1030),
    (20120203, 20120208, 1030),
    (20120210, 20120215, 1030),
    (20120217, 20120223, 1030),
    (20120224, 20120229, 1030),
    (20120302, 20120307, 1030),
    (20120309, 20120314, 1030),
    (20120316, 20120321, 1030),
    (20120323, 20120328, 1030),
    (20120330, 20120404, 1030),
    (20120406, 20120411, 1030),
    (20120413, 20120418, 1030),
    (20120420, 20120425, 1030),
    (20120427, 20120502, 1030),
    (20120504, 20120509, 1030),
    (20120511, 20120516, 1030),
    (20120518, 20120523, 1030),
    (20120525, 20120531, 1030),
    (20120601, 20120606, 1030),
    (20120608, 20120613, 1030),
    (20120615, 20120620, 1030),
    (20120622, 20120627, 1030),
    (20120629, 20120705, 1030),
    (20120706, 20120711, 1030),
    (20120713, 20120718, 1030),
    (20120720, 20120725, 1030),
    (20120727, 20120801, 1030),
    (20120803, 20120808, 1030),
    (20120810, 20120815, 1030),
    (20120817, 20120822, 1030),
    (20120824, 20120829, 1030),
    (20120831, 20120906, 1030),
    (20120907, 20120912, 1030),
    (20120914, 20120919, 1030),
    (20120921, 20120926, 1030),
    (20120928, 20121003, 1030),
    (20121005, 20121011, 1030),
    (20121012, 20121017, 1030),
    (20121019, 20121024, 1030),
    (20121026, 20121101, 1030),
    (20121102, 20121107, 1030),
    (20121109, 20121115, 1030),
    (20121116, 20121121, 1030),
    (20121123, 20121128, 1030),
    (20121130, 20121205, 1030),
    (20121207, 20121212, 1030),
    (20121214, 20121219, 1030),
    (20121221, 20121228, 1030),
    (20121228, 20130104, 1030),
    (20130104, 20130109, 1030),
    (20130111, 20130116, 1030),
    (20130118, 20130124, 1030),
    (20130125, 20130130, 1030),
    (20130201, 20130206, 1030),
    (20130208, 20130213, 1030),
    (20130215, 20130221, 1030),
    (20130222, 20130227, 1030),
    (20130301, 20130306, 1030),
    (20130308, 20130313, 1030),
    (20130315, 20130320, 1030),
    (20130322, 20130327, 1030),
    (20130329, 20130403, 1030),
    (20130405, 20130410, 1030),
    (20130412, 20130417, 1030),
    (20130419, 20130424, 1030),
    (20130426, 20130501, 1030),
    (20130503, 20130508, 1030),
    (20130510, 20130515, 1030),
    (20130517, 20130522, 1030),
    (20130524, 20130530, 1030),
    (20130531, 20130605, 1030),
    (20130607, 20130612, 1030),
    (20130614, 20130619, 1030),
    (20130621, 20130626, 1030),
    (20130628, 20130703, 1030),
    (20130705, 20130710, 1030),
    (20130712, 20130717, 1030),
    (20130719, 20130724, 1030),
    (20130726, 20130731, 1030),
    (20130802, 20130807, 1030),
    (20130809, 20130814, 1030),
    (20130816, 20130821, 1030),
    (20130823, 20130828, 1030),
    (20130830, 20130905, 1030),
    (20130906, 20130911, 1030),
    (20130913, 20130918, 1030),
    (20130920, 20130925, 1030),
    (20130927, 20131002, 1030),
    (20131004, 20131009, 1030),
    (20131011, 20131021, 1030),
    (20131018, 20131023, 1030),
    (20131025, 20131030, 1030),
    (20131101, 20131106, 1030),
    (20131108, 20131114, 1030),
    (20131115, 20131120, 1030),
    (20131122, 20131127, 1030),
    (20131129, 20131204, 1030),
    (20131206, 20131211, 1030),
    (20131213, 20131218, 1030),
    (20131220, 20131227, 1030),
    (20131227, 20140103, 1030),
    (20140103, 20140108, 1030),
    (20140110, 20140115, 1030),
    (20140117, 20140123, 1030),
    (20140124, 20140129, 1030),
    (20140131, 20140205, 1030),
    (20140207, 20140212, 1030),
    (20140214, 20140220, 1030),
    (20140221, 20140226, 1030),
    (20140228, 20140305, 1030),
    (20140307, 20140312, 1030),
    (20140314, 20140319, 1030),
    (20140321, 20140326, 1030),
    (20140328, 20140402, 1030),
    (20140404, 20140409, 1030),
    (20140411, 20140416, 1030),
    (20140418, 20140423, 1030),
    (20140425, 20140430, 1030),
    (20140502, 20140507, 1030),
    (20140509, 20140514, 1030),
    (20140516, 20140521, 1030),
    (20140523, 20140529, 1030),
    (20140530, 20140604, 1030),
    (20140606, 20140611, 1030),
    (20140613, 20140618, 1030),
    (20140620, 20140625, 1030),
    (20140627, 20140702, 1030),
    (20140704, 20140709, 1030),
    (20140711, 20140716, 1030),
    (20140718, 20140723, 1030),
    (20140725, 20140730, 1030),
    (20140801, 20140806, 1030),
    (20140808, 20140813, 1030),
    (20140815, 20140820, 1030),
    (20140822, 20140827, 1030),
    (20140829, 20140904, 1030),
    (20140905, 20140910, 1030),
    (20140912, 20140917, 1030),
    (20140919, 20140924, 1030),
    (20140926, 20141001, 1030),
    (20141003, 20141008, 1030),
    (20141010, 20141016, 1030),
    (20141017, 20141022, 1030),
    (20141024, 20141029, 1030),
    (20141031, 20141105, 1030),
    (20141107, 20141113, 1030),
    (20141114, 20141119, 1030),
    (20141121, 20141126, 1030),
    (20141128, 20141203, 1030),
    (20141205, 20141210, 1030),
    (20141212, 20141217, 1030),
    (20141219, 20141224, 1030),
    (20141226, 20141231, 1030),
    (20150102, 20150107, 1030),
    (20150109, 20150114, 1030),
    (20150116, 20150122, 1030),
    (20150123, 20150128, 1030),
    (20150130, 20150204, 1030),
    (20150206, 20150211, 1030),
    (20150213, 20150219, 1030),
    (20150220, 20150225, 1030),
    (20150227, 20150304, 1030),
    (20150306, 20150311, 1030),
    (20150313, 20150318, 1030),
    (20150320, 20150325, 1030),
    (20150327, 20150401, 1030),
    (20150403, 20150408, 1030),
    (20150410, 20150415, 1030),
    (20150417, 20150422, 1030),
    (20150424, 20150429, 1030),
    (20150501, 20150506, 1030),
    (20150508, 20150513, 1030),
    (20150515, 20150520, 1030),
    (20150522, 20150528, 1030),
    (20150529, 20150603, 1030),
    (20150605, 20150610, 1030),
    (20150612, 20150617, 1030),
    (20150619, 20150624, 1030),
    (20150626, 20150701, 1030),
    (20150703, 20150708, 1030),
    (20150710, 20150715, 1030),
    (20150717, 20150722, 1030),
    (20150724, 20150729, 1030),
    (20150731, 20150805, 1030),
    (20150807, 20150812, 1030),
    (20150814, 20150819, 1030),
    (20150821, 20150826, 1030),
    (20150828, 20150902, 1030),
    (20150904, 20150910, 1030),
    (20150911, 20150916, 1030),
    (20150918, 20150923, 1030),
    (20150925, 20150930, 1030),
    (20151002, 20151007, 1030),
    (20151009, 20151015, 1030),
    (20151016, 20151021, 1030),
    (20151023, 20151028, 1030),
    (20151030, 20151104, 1030),
    (20151106, 20151112, 1030),
    (20151113, 20151118, 1030),
    (20151120, 20151125, 1030),
    (20151127, 20151202, 1030),
    (20151204, 20151209, 1030),
    (20151211, 20151216, 1030),
    (20151218, 20151223, 1030),
    (20151225, 20151230, 1030),
    (20160101, 20160106, 1030),
    (20160108, 20160113, 1030),
    (20160115, 20160121, 1100),
    (20160122, 20160127, 1030),
    (20160129, 20160203, 1030),
    (20160205, 20160210, 1030),
    (20160212, 20160218, 1100),
    (20160219, 20160224, 1030),
    (20160226, 20160302, 1030),
    (20160304, 20160309, 1030),
    (20160311, 20160316, 1030),
    (20160318, 20160323, 1030),
    (20160325, 20160330, 1030),
    (20160401, 20160406, 1030),
    (20160408, 20160413, 1030),
    (20160415, 20160420, 1030),
    (20160422, 20160427, 1030),
    (20160429, 20160504, 1030),
    (20160506, 20160511, 1030),
    (20160513, 20160518, 1030),
    (20160520, 20160525, 1030),
    (20160527, 20160602, 1100),
    (20160603, 20160608, 1030),
    (20160610, 20160615, 1030),
    (20160617, 20160622, 1030),
    (20160624, 20160629, 1030),
    (20160701, 20160707, 1100),
    (20160708, 20160713, 1030),
    (20160715, 20160720, 1030),
    (20160722, 20160727, 1030),
    (20160729, 20160803, 1030),
    (20160805, 20160810, 1030),
    (20160812, 20160817, 1030),
    (20160819, 20160824, 1030),
    (20160826, 20160831, 1030),
    (20160902, 20160908, 1100),
    (20160909, 20160914, 1030),
    (20160916, 20160921, 1030),
    (20160923, 20160928, 1030),
    (20160930, 20161005, 1030),
    (20161007, 20161013, 1100),
    (20161014, 20161019, 1030),
    (20161021, 20161026, 1030),
    (20161028, 20161102, 1030),
    (20161104, 20161109, 1030),
    (20161111, 20161116, 1030),
    (20161118, 20161123, 1030),
    (20161125, 20161130, 1030),
    (20161202, 20161207, 1030),
    (20161209, 20161214, 1030),
    (20161216, 20161221, 1030),
    (20161223, 20161229, 1100),
    (20161230, 20170105, 1100),
    (20170106, 20170111, 1030),
    (20170113, 20170119, 1100),
    (20170120, 20170125, 1030),
    (20170127, 20170201, 1030),
    (20170203, 20170208, 1030),
    (20170210, 20170215, 1030),
    (20170217, 20170223, 1100),
    (20170224, 20170301, 1030),
    (20170303, 20170308, 1030),
    (20170310, 20170315, 1030),
    (20170317, 20170322, 1030),
    (20170324, 20170329, 1030),
    (20170331, 20170405, 1030),
    (20170407, 20170412, 1030),
    (20170414, 20170419, 1030),
    (20170421, 20170426, 1030),
    (20170526, 20170601, 1100),
    (20170630, 20170706, 1100),
    (20170901, 20170907, 1100),
    (20171006, 20171012, 1100),
    (20171222, 20171228, 1100),
    (20171229, 20180104, 1100),
];

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
    fn the_recorded_table_is_sorted_and_consulted_first() {
        assert!(WPSR_ACTUAL.windows(2).all(|w| w[0].0 < w[1].0));
        // Government shutdown 2013: week ending 10-11 came out Monday 10-21.
        let t = ReleaseCalendar::EiaWpsr.release_time(d(2013, 10, 11));
        assert_eq!(t.to_rfc3339(), "2013-10-21T14:30:00+00:00");
        // Martin Luther King Jr. Day 2016: Thursday 01-21 at 11:00 EST.
        let t = ReleaseCalendar::EiaWpsr.release_time(d(2016, 1, 15));
        assert_eq!(t.to_rfc3339(), "2016-01-21T16:00:00+00:00");
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
