//! The WPSR release calendar against EIA's real release dates
//! (`shared/data/real/eia/wpsr_schedule`, read as they are): every release
//! in the archive and every holiday release falls on the day and minute the
//! calendar gives for its week.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{NaiveDate, NaiveTime, TimeZone};
use chrono_tz::America::New_York;
use qdp_core::qdp_sdk::calendar::ReleaseCalendar;

/// A real data file, as text.
fn real(rel: &str) -> String {
    std::fs::read_to_string(qdp_test_services::real_data(rel)).unwrap()
}

/// Splits one CSV line, honouring double quotes.
fn fields(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn ny(day: NaiveDate, h: u32, m: u32) -> chrono::DateTime<chrono::Utc> {
    New_York
        .from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap()))
        .single()
        .unwrap()
        .with_timezone(&chrono::Utc)
}

#[test]
fn every_archived_wpsr_release_is_where_the_calendar_says() {
    let text =
        real("eia/wpsr_schedule/wpsr_actual_release_dates_2011-08_to_2017-04_TRANSCRIBED.csv");
    let holidays = real("eia/wpsr_schedule/holiday_release_schedule_2016_2017_TRANSCRIBED.csv");
    let holiday_releases: Vec<NaiveDate> = holidays
        .lines()
        .skip(1)
        .map(|l| NaiveDate::parse_from_str(&fields(l)[1], "%B %d, %Y").unwrap())
        .collect();
    let mut walked = 0;
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f = fields(line);
        let released = NaiveDate::parse_from_str(&f[0], "%Y-%m-%d").unwrap();
        let week = NaiveDate::parse_from_str(&f[3], "%Y-%m-%d").unwrap();
        let (h, m) = if holiday_releases.contains(&released) {
            (11, 0)
        } else {
            (10, 30)
        };
        assert_eq!(
            ReleaseCalendar::EiaWpsr.release_time(week),
            ny(released, h, m),
            "week ending {week}, released {released} ({})",
            f[1]
        );
        walked += 1;
    }
    assert_eq!(walked, 300, "every row of the archive");
}

#[test]
fn every_2016_2017_holiday_release_is_thursday_11_00() {
    let text = real("eia/wpsr_schedule/holiday_release_schedule_2016_2017_TRANSCRIBED.csv");
    let mut walked = 0;
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f = fields(line);
        let week = NaiveDate::parse_from_str(&f[0], "%B %d, %Y").unwrap();
        let released = NaiveDate::parse_from_str(&f[1], "%B %d, %Y").unwrap();
        assert_eq!(f[3], "11:00 a.m.");
        assert_eq!(
            ReleaseCalendar::EiaWpsr.release_time(week),
            ny(released, 11, 0),
            "week ending {week} ({} holiday)",
            f[4]
        );
        walked += 1;
    }
    assert_eq!(walked, 16);
}
