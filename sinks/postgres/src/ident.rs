//! SQL identifiers and literals: everything the sink splices into SQL text
//! goes through here, so names from batches (file headers, say) cannot
//! break out of their quotes.

use qdp_sdk::PluginError;

/// Longest identifier Postgres keeps; longer ones are silently cut, which
/// could fold two columns into one, so they are refused instead.
pub const MAX_IDENT_BYTES: usize = 63;

/// `[a-z_][a-z0-9_]*`: names the sink may use unquoted in messages and
/// index names (schemas, datasets, categories).
pub fn is_plain(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= MAX_IDENT_BYTES
}

/// `"name"` with inner quotes doubled.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."table"`.
pub fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", quote(schema), quote(table))
}

/// `'text'` with inner quotes doubled.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Checks a column name taken from a batch: not empty, no NUL, short enough.
pub fn check_column(name: &str, table: &str) -> Result<(), PluginError> {
    if name.is_empty() || name.contains('\0') || name.len() > MAX_IDENT_BYTES {
        return Err(PluginError::config(format!(
            "column name `{name}` cannot be a Postgres column: it must be 1 to {MAX_IDENT_BYTES} bytes without NUL"
        ))
        .with_context("table", table)
        .retryable(false));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_quotes_and_plain_names_are_narrow() {
        assert_eq!(quote(r#"a"b"#), r#""a""b""#);
        assert_eq!(qualified("silver", "x"), r#""silver"."x""#);
        assert_eq!(literal("it's"), "'it''s'");
        assert!(is_plain("bronze_cot_2025"));
        for bad in ["", "1a", "A", "a-b", "a b", &"x".repeat(64)] {
            assert!(!is_plain(bad), "{bad}");
        }
        assert!(check_column(" Total Reportable Positions-Long (All)", "t").is_ok());
        assert!(check_column(&"x".repeat(64), "t").is_err());
        assert!(check_column("", "t").is_err());
    }
}
