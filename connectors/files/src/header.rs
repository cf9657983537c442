//! Column names from a header row: lower_snake, unique, never empty.

/// Normalises `raw` header cells: ASCII letters lower-cased (common Latin
/// accents folded), `%` as the word `pct`, every other run of characters one `_`, an empty name
/// `column_<n>` (1-based position), a name starting with a digit prefixed
/// with `c_`, and repeats suffixed `_2`, `_3`, ... Names never start with
/// `_`, which the metadata columns own.
pub fn normalise(raw: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, cell) in raw.iter().enumerate() {
        let mut base = snake(cell);
        if base.is_empty() {
            base = format!("column_{}", i + 1);
        } else if base.starts_with(|c: char| c.is_ascii_digit()) {
            base = format!("c_{base}");
        }
        let mut name = base.clone();
        let mut n = 2;
        while out.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        out.push(name);
    }
    out
}

fn snake(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars() {
        if c == '%' {
            // `% Oil` reads as "percent oil", not as a second `oil`.
            if !s.is_empty() {
                s.push('_');
            }
            s.push_str("pct");
            gap = true;
            continue;
        }
        let c = fold(c);
        if c.is_ascii_alphanumeric() {
            if gap && !s.is_empty() {
                s.push('_');
            }
            gap = false;
            s.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
    }
    s
}

/// The unaccented letter of a common Latin-1 letter, else `c`.
fn fold(c: char) -> char {
    match c {
        'à'..='å' | 'À'..='Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è'..='ë' | 'È'..='Ë' => 'e',
        'ì'..='ï' | 'Ì'..='Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò'..='ö' | 'Ò'..='Ö' | 'ø' | 'Ø' => 'o',
        'ù'..='ü' | 'Ù'..='Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        'ß' => 's',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(raw: &[&str]) -> Vec<String> {
        normalise(&raw.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn headers_become_unique_lower_snake() {
        assert_eq!(
            names(&[
                "Client ID",
                "Prénom",
                "Total\nGoM",
                "",
                "client id",
                "2025 Revenue (USD)",
                "_row_id",
                "Client-ID",
                "% Oil",
                "Share %"
            ]),
            vec![
                "client_id",
                "prenom",
                "total_gom",
                "column_4",
                "client_id_2",
                "c_2025_revenue_usd",
                "row_id",
                "client_id_3",
                "pct_oil",
                "share_pct"
            ]
        );
    }
}
