//! Values as text, the same way for both databases: bronze is
//! schema-on-read, so what matters is that the text is exact and stable
//! (a `_row_id` is built from it).
//!
//! Timestamps are RFC 3339 in UTC with as many fractional digits as needed
//! (0, 3, 6 or 9); a timestamp without a time zone is taken as UTC. Bytes
//! are lower-case hex. Floats are the shortest text that reads back to the
//! same value. Numerics come from the database's own text, never a float.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// RFC 3339 of an instant, UTC, `Z`.
pub fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// RFC 3339 of a wall-clock timestamp taken as UTC.
pub fn naive_utc(t: NaiveDateTime) -> String {
    instant(t.and_utc())
}

/// `YYYY-MM-DD`.
pub fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// `HH:MM:SS` with a fraction when there is one.
pub fn time(t: NaiveTime) -> String {
    t.format("%H:%M:%S%.f").to_string()
}

/// Shortest round-trip text of a double; `Infinity`, `-Infinity`, `NaN` as SQL writes them.
pub fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        v.to_string()
    }
}

/// Shortest round-trip text of a single-precision float.
pub fn float32(v: f32) -> String {
    if v.is_finite() {
        v.to_string()
    } else {
        float(f64::from(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_exact_and_stable() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        let t = NaiveDate::from_ymd_opt(2026, 4, 24)
            .and_then(|d| d.and_hms_micro_opt(10, 30, 0, 120_000))
            .unwrap();
        assert_eq!(naive_utc(t), "2026-04-24T10:30:00.120Z");
        let whole = NaiveDate::from_ymd_opt(2026, 4, 24)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap();
        assert_eq!(naive_utc(whole), "2026-04-24T00:00:00Z");
        assert_eq!(float(0.1), "0.1");
        assert_eq!(float(1e21), "1000000000000000000000");
        assert_eq!(float(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(float32(0.1), "0.1");
    }
}
