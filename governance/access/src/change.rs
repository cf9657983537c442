//! Differences between a policy and a target, and how each is shown:
//! statements are printed redacted (no password, no verifier, no hash).

use std::fmt;

/// How the target differs from the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The policy wants it; the target lacks it.
    Missing,
    /// The target has it; the policy does not want it.
    Extra,
    /// Both have it, differently.
    Changed,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Missing => "missing",
            Kind::Extra => "extra",
            Kind::Changed => "changed",
        })
    }
}

/// One statement, as run and as shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Statement {
    /// Run order (see `postgres::fact` phases; 0 for ClickHouse).
    pub phase: u8,
    /// What runs; may hold a verifier, so never printed.
    pub sql: String,
    /// What is printed.
    pub shown: String,
}

impl fmt::Debug for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Statement {
    /// A statement with nothing secret in it.
    pub fn plain(phase: u8, sql: String) -> Self {
        Self {
            phase,
            shown: sql.clone(),
            sql,
        }
    }
}

/// One difference and the statements that remove it.
#[derive(Debug, Clone)]
pub struct Change {
    /// `postgres` or `clickhouse`.
    pub target: &'static str,
    /// Missing, extra or changed.
    pub kind: Kind,
    /// What differs, in words.
    pub what: String,
    /// What `apply` runs for it (empty when only a person can fix it).
    pub statements: Vec<Statement>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} {}", self.target, self.kind, self.what)
    }
}

/// The statements of `changes` in run order.
pub fn ordered(changes: &[Change]) -> Vec<&Statement> {
    let mut out: Vec<&Statement> = changes.iter().flat_map(|c| &c.statements).collect();
    out.sort_by_key(|s| s.phase);
    out
}
