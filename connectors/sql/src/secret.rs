//! The connection url, whose password must never reach a log or an error.
//!
//! Operators write `${PG_PASSWORD}` in the pipeline file; by the time the
//! plugin sees the url the runtime has substituted it, so everything that
//! prints the url or a driver's error goes through [`SecretUrl::redact`].

use serde::Deserialize;
use std::fmt;

/// A database url; `Display` and `Debug` show `***` for the password.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// Wraps a url.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The url as written, for the driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The password of the url, raw as written (percent-encoded if it was).
    fn password(&self) -> Option<&str> {
        let rest = self.0.split_once("://")?.1;
        let authority = rest.split(['/', '?']).next()?;
        let userinfo = authority.rsplit_once('@')?.0;
        let (_, pw) = userinfo.split_once(':')?;
        (!pw.is_empty()).then_some(pw)
    }

    /// `text` with the password (as written and percent-decoded) replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let Some(pw) = self.password() else {
            return text.to_string();
        };
        let mut out = text.replace(pw, "***");
        let decoded = percent_decode(pw);
        if !decoded.is_empty() && decoded != pw {
            out = out.replace(&decoded, "***");
        }
        out
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redact(&self.0))
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_hidden_everywhere() {
        let u = SecretUrl::new("postgres://app:s3cr%40t@db:5432/ops?sslmode=disable");
        assert_eq!(
            u.to_string(),
            "postgres://app:***@db:5432/ops?sslmode=disable"
        );
        assert!(!format!("{u:?}").contains("s3cr"));
        assert_eq!(u.redact("auth failed: s3cr@t"), "auth failed: ***");
        let none = SecretUrl::new("mysql://root@127.0.0.1:3306/db");
        assert_eq!(none.to_string(), "mysql://root@127.0.0.1:3306/db");
    }
}
