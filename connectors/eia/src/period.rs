//! EIA periods as published (`2024-10-04`, `2024-07`, `2024`, `2024-Q3`):
//! parsing, stepping back for revisions, and the `release_time` key.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use qdp_sdk::calendar::ReleaseCalendar;

/// One period, as EIA writes it in `period` (per `response.dateFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// `YYYY-MM-DD`: a day, or the week ending that day (weekly series).
    Day(NaiveDate),
    /// `YYYY-MM`.
    Month(i32, u32),
    /// `YYYY-Qn`.
    Quarter(i32, u32),
    /// `YYYY`.
    Year(i32),
}

impl Period {
    /// Parses the forms EIA uses; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let num = |s: &str| -> Option<u32> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let parts: Vec<&str> = t.split('-').collect();
        match parts.as_slice() {
            [y] if y.len() == 4 => num(y).map(|y| Period::Year(y as i32)),
            [y, q] if y.len() == 4 && q.len() == 2 && q.starts_with('Q') => {
                let (y, q) = (num(y)?, num(&q[1..])?);
                (1..=4).contains(&q).then_some(Period::Quarter(y as i32, q))
            }
            [y, m] if y.len() == 4 && m.len() == 2 => {
                let (y, m) = (num(y)?, num(m)?);
                (1..=12).contains(&m).then_some(Period::Month(y as i32, m))
            }
            [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
                NaiveDate::from_ymd_opt(num(y)? as i32, num(m)?, num(d)?).map(Period::Day)
            }
            _ => None,
        }
    }

    /// The first day of the period.
    pub fn first_day(self) -> Option<NaiveDate> {
        match self {
            Period::Day(d) => Some(d),
            Period::Month(y, m) => NaiveDate::from_ymd_opt(y, m, 1),
            Period::Quarter(y, q) => NaiveDate::from_ymd_opt(y, (q - 1) * 3 + 1, 1),
            Period::Year(y) => NaiveDate::from_ymd_opt(y, 1, 1),
        }
    }

    /// The period `n` periods earlier, in the same form. Dates step by a
    /// week unless the series is daily.
    pub fn back(self, n: u32, frequency: &str) -> Option<Self> {
        let n = i64::from(n);
        Some(match self {
            Period::Day(d) => {
                let days = if frequency.eq_ignore_ascii_case("daily") {
                    n
                } else {
                    7 * n
                };
                Period::Day(d.checked_sub_signed(Duration::days(days))?)
            }
            Period::Month(y, m) => {
                let idx = i64::from(y) * 12 + i64::from(m) - 1 - n;
                Period::Month(
                    i32::try_from(idx.div_euclid(12)).ok()?,
                    idx.rem_euclid(12) as u32 + 1,
                )
            }
            Period::Quarter(y, q) => {
                let idx = i64::from(y) * 4 + i64::from(q) - 1 - n;
                Period::Quarter(
                    i32::try_from(idx.div_euclid(4)).ok()?,
                    idx.rem_euclid(4) as u32 + 1,
                )
            }
            Period::Year(y) => Period::Year(y.checked_sub(i32::try_from(n).ok()?)?),
        })
    }

    /// `release_time` of the period: the scheduled publication time from the
    /// calendar when there is one (a stable key, ADR 0002), otherwise the
    /// period's first day at 00:00 UTC.
    pub fn release_time(self, calendar: Option<ReleaseCalendar>) -> Option<DateTime<Utc>> {
        let day = self.first_day()?;
        match (calendar, self) {
            (Some(c), Period::Day(d)) => Some(c.release_time(d)),
            _ => day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()),
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Period::Day(d) => write!(f, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
            Period::Month(y, m) => write!(f, "{y:04}-{m:02}"),
            Period::Quarter(y, q) => write!(f, "{y:04}-Q{q}"),
            Period::Year(y) => write!(f, "{y:04}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_eia_forms_and_refuses_others() {
        assert_eq!(
            Period::parse("2024-10-04"),
            Some(Period::Day(NaiveDate::from_ymd_opt(2024, 10, 4).unwrap()))
        );
        assert_eq!(Period::parse("2024-07"), Some(Period::Month(2024, 7)));
        assert_eq!(Period::parse("2024-Q3"), Some(Period::Quarter(2024, 3)));
        assert_eq!(Period::parse("2024"), Some(Period::Year(2024)));
        for bad in [
            "",
            "24",
            "2024-13",
            "2024-02-30",
            "2024-Q5",
            "6/5/26",
            "2024-1",
        ] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn steps_back_by_the_series_frequency() {
        let w = Period::parse("2024-10-04").unwrap();
        assert_eq!(w.back(4, "weekly").unwrap().to_string(), "2024-09-06");
        assert_eq!(w.back(4, "daily").unwrap().to_string(), "2024-09-30");
        let m = Period::parse("2024-02").unwrap();
        assert_eq!(m.back(4, "monthly").unwrap().to_string(), "2023-10");
        let q = Period::parse("2024-Q1").unwrap();
        assert_eq!(q.back(1, "quarterly").unwrap().to_string(), "2023-Q4");
        assert_eq!(
            Period::Year(2024).back(4, "annual").unwrap().to_string(),
            "2020"
        );
    }

    #[test]
    fn release_time_uses_the_calendar_or_the_period_start() {
        let w = Period::parse("2026-06-05").unwrap();
        // WPSR: Wednesday 10:30 New York (EDT) = 14:30 UTC.
        assert_eq!(
            w.release_time(Some(ReleaseCalendar::EiaWpsr))
                .unwrap()
                .to_rfc3339(),
            "2026-06-10T14:30:00+00:00"
        );
        let m = Period::parse("2024-07").unwrap();
        assert_eq!(
            m.release_time(None).unwrap().to_rfc3339(),
            "2024-07-01T00:00:00+00:00"
        );
    }
}
