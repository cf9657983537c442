//! Values and units as EIA publishes them.
//!
//! Numbers come as JSON numbers or as text (`"422741"`, `".387"`,
//! `"13,799"`, `"-1,908"`); "not available" comes as `null`, `NA`, `.`,
//! `--`, an empty cell or the cp1252 en-dash of the WPSR tables. Those are
//! not values and never become a row with a made-up number.

/// What one published cell holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A number.
    Number(f64),
    /// Published as not available: skipped and counted.
    NotAvailable,
    /// Something that is neither: the text, for the unqualified row.
    Malformed(String),
}

/// Reads a text cell: thousands separators and a leading `.` are fine.
pub fn parse_text(text: &str) -> Cell {
    let t = text.trim();
    let is_dash = |c: char| matches!(c, '–' | '—');
    let dashes = t.chars().any(is_dash) && t.chars().all(|c| is_dash(c) || c.is_whitespace());
    let na = ["NA", "N/A", ".", "--", "W"]
        .iter()
        .any(|m| t.eq_ignore_ascii_case(m));
    if t.is_empty() || na || dashes {
        return Cell::NotAvailable;
    }
    let plain: String = t.chars().filter(|c| *c != ',').collect();
    let grouping_ok = !t.contains(',') || thousands_grouping_ok(t);
    let numeric = !plain.is_empty()
        && plain
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        && plain.chars().any(|c| c.is_ascii_digit());
    match plain.parse::<f64>() {
        Ok(v) if numeric && grouping_ok && v.is_finite() => Cell::Number(v),
        _ => Cell::Malformed(t.to_string()),
    }
}

/// `1,559.930` and `-13,799` group by threes; `1,2,3` does not.
fn thousands_grouping_ok(t: &str) -> bool {
    let int = t.trim_start_matches(['-', '+']);
    let int = int.split('.').next().unwrap_or_default();
    let mut groups = int.split(',');
    let first = groups.next().unwrap_or_default();
    (1..=3).contains(&first.len()) && groups.all(|g| g.len() == 3)
}

/// Reads a JSON `value`: a number, a string, or null.
pub fn parse_json(v: Option<&serde_json::Value>) -> Cell {
    match v {
        None | Some(serde_json::Value::Null) => Cell::NotAvailable,
        Some(serde_json::Value::Number(n)) => match n.as_f64() {
            Some(f) if f.is_finite() => Cell::Number(f),
            _ => Cell::Malformed(n.to_string()),
        },
        Some(serde_json::Value::String(s)) => parse_text(s),
        Some(other) => Cell::Malformed(other.to_string()),
    }
}

/// The `<amount>_<unit>` form of an EIA unit code, never converting values:
/// `MBBL` → `1000_barrels`, `MBBL/D` → `1000_barrels_per_day`, `$/BBL` →
/// `1_USD_per_barrel`, `$/MMBTU` → `1_USD_per_MMBtu`, `%` → `1_percent`;
/// anything else `1_<unit as published>`, with `$` written `USD`, `%`
/// `percent`, `/` `_per_` and other punctuation and spaces `_`, so it reads
/// as a unit (`million barrels per day` → `1_million_barrels_per_day`). A
/// unit that starts with a number keeps it as the amount
/// (`1000 cubic feet` → `1000_cubic_feet`).
pub fn unit(published: &str) -> String {
    let u = published.trim();
    match u.to_ascii_uppercase().as_str() {
        "MBBL" => return "1000_barrels".into(),
        "MBBL/D" => return "1000_barrels_per_day".into(),
        "$/BBL" => return "1_USD_per_barrel".into(),
        "$/MMBTU" => return "1_USD_per_MMBtu".into(),
        "%" => return "1_percent".into(),
        _ => {}
    }
    let mut s = String::new();
    for c in u.chars() {
        match c {
            '$' => s.push_str("_USD_"),
            '%' => s.push_str("_percent_"),
            '/' => s.push_str("_per_"),
            c if c.is_ascii_alphanumeric() => s.push(c),
            _ => s.push('_'),
        }
    }
    let words: Vec<&str> = s.split('_').filter(|w| !w.is_empty()).collect();
    match words.split_first() {
        None => "1_unknown".into(),
        Some((first, rest)) if first.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty() => {
            format!("{first}_{}", rest.join("_"))
        }
        // `<amount>_<unit>` needs a unit that starts with a letter.
        Some(_) if words[0].starts_with(|c: char| c.is_ascii_digit()) => {
            format!("1_unit_{}", words.join("_"))
        }
        Some(_) => format!("1_{}", words.join("_")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_every_published_form() {
        assert_eq!(parse_text("422741"), Cell::Number(422741.0));
        assert_eq!(parse_text(".38705767703"), Cell::Number(0.38705767703));
        assert_eq!(parse_text("1,559.930"), Cell::Number(1559.93));
        assert_eq!(parse_text("-1,908"), Cell::Number(-1908.0));
        assert_eq!(parse_text(" 13,799 "), Cell::Number(13799.0));
        assert_eq!(
            parse_json(Some(&serde_json::json!(422741))),
            Cell::Number(422741.0)
        );
        assert_eq!(
            parse_json(Some(&serde_json::json!("1.785"))),
            Cell::Number(1.785)
        );
    }

    #[test]
    fn not_available_is_not_a_number_and_garbage_is_malformed() {
        for na in ["NA", "", ".", "--", "– –", "–"] {
            assert_eq!(parse_text(na), Cell::NotAvailable, "{na}");
        }
        assert_eq!(parse_json(None), Cell::NotAvailable);
        assert_eq!(
            parse_json(Some(&serde_json::Value::Null)),
            Cell::NotAvailable
        );
        for bad in ["12a", "1,2,3", "-", "abc", "1.2.3"] {
            assert_eq!(parse_text(bad), Cell::Malformed(bad.into()), "{bad}");
        }
        assert!(matches!(
            parse_json(Some(&serde_json::json!({"x": 1}))),
            Cell::Malformed(_)
        ));
    }

    #[test]
    fn units_are_named_not_converted() {
        assert_eq!(unit("MBBL"), "1000_barrels");
        assert_eq!(unit("MBBL/D"), "1000_barrels_per_day");
        assert_eq!(unit("$/BBL"), "1_USD_per_barrel");
        assert_eq!(unit("$/MMBTU"), "1_USD_per_MMBtu");
        assert_eq!(unit("%"), "1_percent");
        assert_eq!(unit("million barrels per day"), "1_million_barrels_per_day");
        assert_eq!(unit("$/GAL"), "1_USD_per_GAL");
        assert_eq!(unit("1000 cubic feet"), "1000_cubic_feet");
        assert_eq!(unit("MMCF"), "1_MMCF");
        assert_eq!(unit("2nd"), "1_unit_2nd");
        assert_eq!(unit(""), "1_unknown");
    }
}
