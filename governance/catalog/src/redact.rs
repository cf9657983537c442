//! Secrets never reach the catalogue: option values under secret-looking
//! names become `***`, and URLs lose their user-info and secret query
//! parameters. An unresolved reference (`${NAME}`, `${file:PATH}`) says
//! where a secret lives, not what it is, so it is kept.

use serde_json::Value;

/// Option names that contain `key` without naming a secret.
const NOT_SECRET: &[&str] = &[
    "key",
    "primary_key",
    "fallback_key",
    "unique_key",
    "key_column",
    "keys",
];

/// Whether an option named `name` holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let last = n.rsplit(['.', '-']).next().unwrap_or(&n);
    if NOT_SECRET.contains(&last) {
        return false;
    }
    ["key", "secret", "password", "passwd", "token", "credential"]
        .iter()
        .any(|w| n.contains(w))
}

/// Whether `s` is exactly one `${...}` reference.
fn is_reference(s: &str) -> bool {
    s.starts_with("${") && s.ends_with('}') && s[2..s.len() - 1].find(['{', '}']).is_none()
}

/// `options` with every secret replaced by `***` and every URL redacted.
pub fn redact_options(options: &Value) -> Value {
    match options {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if is_secret_name(k) {
                        hide(v)
                    } else {
                        redact_options(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact_options).collect()),
        Value::String(s) => Value::String(redact_text(s)),
        other => other.clone(),
    }
}

fn hide(v: &Value) -> Value {
    match v {
        Value::String(s) if is_reference(s) => v.clone(),
        Value::Array(a) => Value::Array(a.iter().map(hide).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), hide(x))).collect()),
        Value::Null => Value::Null,
        _ => Value::String("***".into()),
    }
}

/// `s` with URL user-info, secret query parameters and `password=...`
/// words replaced by `***`.
pub fn redact_text(s: &str) -> String {
    let s = match s.find("://") {
        Some(i) => redact_url(s, i),
        None => s.to_string(),
    };
    // Key-value connection strings: `host=db password=hunter2`.
    s.split(' ')
        .map(|w| match w.split_once('=') {
            Some((k, v)) if is_secret_name(k) && !v.is_empty() && !is_reference(v) => {
                format!("{k}=***")
            }
            _ => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn redact_url(s: &str, scheme_end: usize) -> String {
    let head = &s[..scheme_end + 3];
    let rest = &s[scheme_end + 3..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let q: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if is_secret_name(k) => format!("{k}=***"),
                    _ => p.to_string(),
                })
                .collect();
            format!("{path}?{}", q.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{head}{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_options_and_url_credentials_are_hidden() {
        let o = json!({
            "url": "postgres://qdp:hunter2@db:5432/w?sslmode=disable&password=pw2",
            "api_key": "abc123",
            "app_token": "${CFTC_APP_TOKEN}",
            "s3": { "secret_access_key": "s3cr3t", "region": "us-east-1" },
            "properties": { "sasl.password": "kpw", "security.protocol": "SASL_SSL" },
            "tables": [{ "primary_key": ["id"], "dsn": "host=db password=pw3" }],
            "key": "conid",
            "password": 1234,
        });
        let r = redact_options(&o);
        let text = r.to_string();
        for secret in ["hunter2", "pw2", "abc123", "s3cr3t", "kpw", "pw3", "1234"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(
            r["url"],
            "postgres://***@db:5432/w?sslmode=disable&password=***"
        );
        assert_eq!(r["app_token"], "${CFTC_APP_TOKEN}");
        assert_eq!(r["s3"]["region"], "us-east-1");
        assert_eq!(r["properties"]["security.protocol"], "SASL_SSL");
        assert_eq!(r["tables"][0]["primary_key"], json!(["id"]));
        assert_eq!(r["key"], "conid");
    }

    #[test]
    fn names_that_hold_secrets() {
        for n in [
            "api_key",
            "password",
            "secret_access_key",
            "app_token",
            "sasl.password",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "url",
            "key",
            "primary_key",
            "fallback_key",
            "brokers",
            "namespace",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
        assert_eq!(
            redact_text("http://127.0.0.1:8123"),
            "http://127.0.0.1:8123"
        );
        assert_eq!(redact_text("https://u:p@h/x"), "https://***@h/x");
    }
}
