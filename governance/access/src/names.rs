//! How policy names become database names: every role carries the policy's
//! prefix, so the tool only ever judges roles it owns.

/// A policy name (`energy-desk`) as an identifier part (`energy_desk`).
pub fn part(name: &str) -> String {
    name.replace('-', "_")
}

/// The group role of a team.
pub fn team_role(prefix: &str, team: &str) -> String {
    format!("{prefix}team_{}", part(team))
}

/// The group role of a policy role.
pub fn role_role(prefix: &str, role: &str) -> String {
    format!("{prefix}role_{}", part(role))
}

/// The writer role of a pipeline.
pub fn pipeline_role(prefix: &str, pipeline: &str) -> String {
    format!("{prefix}pipeline_{}", part(pipeline))
}

/// The login of a user, in Postgres and ClickHouse alike.
pub fn user_login(prefix: &str, user: &str) -> String {
    format!("{prefix}{}", part(user))
}

/// The mart schema a team reads and writes.
pub fn mart_schema(team: &str) -> String {
    format!("mart_{}", part(team))
}

/// Whether `name` is a valid policy name: lower-case words joined by `-`.
pub fn is_policy_name(name: &str) -> bool {
    !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.split('-').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// Whether `name` is a plain SQL identifier (`[a-z_][a-z0-9_]*`).
pub fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `"name"` with embedded quotes doubled.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'` with embedded quotes doubled.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters.
pub fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            let Some(rest) = name.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|i| rest.is_char_boundary(*i))
                .any(|i| glob(tail, &rest[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_names() {
        assert!(glob("*", "anything"));
        assert!(glob("fact_*", "fact_candles"));
        assert!(!glob("fact_*", "dim_date"));
        assert!(glob("*_unqualified", "client_accounts_unqualified"));
        assert!(is_policy_name("energy-desk"));
        assert!(!is_policy_name("Energy desk"));
        assert!(!is_policy_name("a--b"));
        assert_eq!(team_role("qdp_", "energy-desk"), "qdp_team_energy_desk");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
