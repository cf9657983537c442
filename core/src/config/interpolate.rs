//! `${ENV}` and `${file:PATH}` references in config strings.
//!
//! Secrets live in the environment or in files, never in the pipeline file;
//! the resolved values are never printed, logged or echoed in errors.

/// Replaces `${NAME}` with the environment variable, `${NAME:-default}` with
/// the variable or, when it is unset or empty, the default (so one pipeline
/// file serves production endpoints and a local stand-in), and `${file:PATH}`
/// with the file's content (trailing newline trimmed). `$$` is a literal `$`.
pub fn interpolate(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| "unclosed `${` (write `$$` for a literal dollar)".to_string())?;
            let name = &body[..end];
            out.push_str(&resolve(name, env)?);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve(name: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    if let Some(path) = name.strip_prefix("file:") {
        return std::fs::read_to_string(path)
            .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
            .map_err(|e| format!("cannot read secret file `{path}`: {e}"));
    }
    let (name, default) = match name.split_once(":-") {
        Some((n, d)) => (n, Some(d)),
        None => (name, None),
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("`${{{name}}}` is not a valid variable name"));
    }
    match (env(name).filter(|v| !v.is_empty()), default) {
        (Some(v), _) => Ok(v),
        (None, Some(d)) => Ok(d.to_string()),
        (None, None) => Err(format!("environment variable `{name}` is not set")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "TOKEN").then(|| "s3cr3t".to_string())
    }

    #[test]
    fn replaces_env_and_escapes() {
        assert_eq!(interpolate("a ${TOKEN} $$5", &env).unwrap(), "a s3cr3t $5");
        assert_eq!(
            interpolate("${TOKEN:-x} ${UNSET:-https://api.eia.gov/v2}", &env).unwrap(),
            "s3cr3t https://api.eia.gov/v2"
        );
        assert!(interpolate("${UNSET}", &env).is_err());
        assert_eq!(interpolate("plain $x", &env).unwrap(), "plain $x");
    }

    #[test]
    fn missing_variable_names_it_without_values() {
        let e = interpolate("${NOPE}", &env).unwrap_err();
        assert!(e.contains("NOPE"));
        assert!(interpolate("${TOKEN", &env).is_err());
    }

    #[test]
    fn reads_secret_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "hunter2\n").unwrap();
        let s = interpolate(&format!("${{file:{}}}", p.display()), &env).unwrap();
        assert_eq!(s, "hunter2");
    }
}
