//! Passwords: read from the environment or a file, never from the policy,
//! and never printed.

use std::fmt;

/// A password; `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: String,
    /// Where it came from, e.g. `env QDP_PASSWORD_ALICE` (safe to print).
    pub source: String,
}

impl Secret {
    /// Wraps a value read from `source`.
    pub fn new(value: String, source: String) -> Self {
        Self { value, source }
    }

    /// The password itself: only for hashing or logging in.
    pub fn expose(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "*** (from {})", self.source)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
