//! Helpers for plugin options that many plugins share: durations written as
//! text, and pass-through client properties whose secret values must never
//! reach a log or an error message.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Parses `250ms`, `30s`, `5m`, `1h` or `2d` (decimals allowed, above zero).
/// The error names `key` and shows the accepted forms.
pub fn duration(text: &str, key: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else if let Some(n) = t.strip_suffix('d') {
        (n, 86400.0)
    } else {
        (t, f64::NAN)
    };
    match num.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && (n * mult).is_finite() => Ok(Duration::from_secs_f64(n * mult)),
        _ => Err(format!(
            "{key}: `{text}` is not a duration like 500ms, 30s, 5m or 1h"
        )),
    }
}

/// Client properties passed through as given (librdkafka settings, say),
/// whose `Debug` shows `***` for the values of secrets.
#[derive(Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Properties(pub BTreeMap<String, String>);

impl Properties {
    /// Whether a property holds a secret (passwords, keys, tokens).
    pub fn is_secret(key: &str) -> bool {
        let k = key.to_ascii_lowercase();
        [
            "password",
            "secret",
            "ssl.key",
            "oauthbearer.config",
            "token",
        ]
        .iter()
        .any(|s| k.contains(s))
    }

    /// `text` with the value of every secret property replaced by `***`,
    /// for error messages that might echo a value back.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (k, v) in &self.0 {
            if Self::is_secret(k) && !v.is_empty() {
                out = out.replace(v.as_str(), "***");
            }
        }
        out
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| {
                let shown = if Self::is_secret(k) {
                    "***"
                } else {
                    v.as_str()
                };
                (k, shown)
            }))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_bad_ones_name_the_key() {
        assert_eq!(duration("250ms", "k"), Ok(Duration::from_millis(250)));
        assert_eq!(duration(" 1.5s", "k"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("2m", "k"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("1h", "k"), Ok(Duration::from_secs(3600)));
        for bad in ["", "5", "0s", "-1s", "soon", "5x"] {
            let e = duration(bad, "max_wait").unwrap_err();
            assert!(e.starts_with("max_wait: "), "{e}");
        }
    }

    #[test]
    fn secret_values_are_hidden_and_redacted() {
        let p = Properties(BTreeMap::from([
            ("sasl.password".to_string(), "hunter2".to_string()),
            ("client.id".to_string(), "qdp".to_string()),
        ]));
        let shown = format!("{p:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("qdp"),
            "{shown}"
        );
        assert_eq!(p.redact("auth failed for hunter2"), "auth failed for ***");
    }
}
