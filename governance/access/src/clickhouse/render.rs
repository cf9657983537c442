//! The `users.d/qdp-access.xml` file a policy asks for. ClickHouse 18.16
//! has no SQL users or grants: users, profiles and database lists live in
//! XML that the server reloads by itself when a file changes.

use crate::names;
use crate::policy::{ClickHouseTarget, Policy};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Profile of readers: `readonly = 1` refuses INSERT, CREATE, ALTER, SET.
pub const READONLY: &str = "qdp_readonly";
/// Profile of pipelines.
pub const WRITER: &str = "qdp_writer";

/// One ClickHouse user of the policy.
#[derive(Debug, Clone)]
pub struct ChUser {
    /// Login (the same as in Postgres).
    pub login: String,
    /// The password, for login checks (never printed).
    pub password: crate::policy::Secret,
    /// `READONLY` or `WRITER`.
    pub profile: &'static str,
    /// Databases it may use (`allow_databases`).
    pub databases: BTreeSet<String>,
}

/// The users with any ClickHouse access.
pub fn users(policy: &Policy) -> Vec<ChUser> {
    let spec = &policy.spec;
    let prefix = spec
        .postgres
        .as_ref()
        .map_or("qdp_", |p| p.role_prefix.as_str());
    let mut out = Vec::new();
    for (name, u) in &spec.users {
        let mut dbs: BTreeSet<String> = u
            .roles
            .iter()
            .filter_map(|r| spec.roles.get(r))
            .flat_map(|r| r.clickhouse_reads.iter().cloned())
            .collect();
        let writes: Vec<String> = u
            .pipeline
            .as_ref()
            .and_then(|p| spec.pipelines.get(p))
            .map(|p| p.clickhouse_writes.clone())
            .unwrap_or_default();
        let profile = if writes.is_empty() { READONLY } else { WRITER };
        dbs.extend(writes);
        let Some(password) = policy.passwords.get(name) else {
            continue;
        };
        if !dbs.is_empty() {
            out.push(ChUser {
                login: names::user_login(prefix, name),
                password: password.clone(),
                profile,
                databases: dbs,
            });
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One user's element; `redact` hides the password hash.
pub fn user_xml(u: &ChUser, networks: &[String], redact: bool) -> String {
    let hash = if redact {
        "***".to_string()
    } else {
        let d = Sha256::digest(u.password.expose().as_bytes());
        d.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    let mut x = format!(
        "    <{0}>\n      <password_sha256_hex>{hash}</password_sha256_hex>\n      <networks>\n",
        u.login
    );
    for n in networks {
        let _ = writeln!(x, "        <ip>{}</ip>", escape(n));
    }
    let _ = write!(
        x,
        "      </networks>\n      <profile>{}</profile>\n      <quota>qdp</quota>\n      <allow_databases>\n",
        u.profile
    );
    for d in &u.databases {
        let _ = writeln!(x, "        <database>{d}</database>");
    }
    let _ = writeln!(x, "      </allow_databases>\n    </{}>", u.login);
    x
}

/// The whole file; `redact` hides the password hashes (for `plan`).
pub fn file(users: &[ChUser], ch: &ClickHouseTarget, redact: bool) -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\"?>\n<!-- Written by `qdp access apply`; edits by hand are reported by `qdp access diff` and undone by the next apply. -->\n<yandex>\n  <profiles>\n",
    );
    let _ = write!(
        x,
        "    <{READONLY}>\n      <readonly>1</readonly>\n      <log_queries>1</log_queries>\n    </{READONLY}>\n    \
         <{WRITER}>\n      <readonly>0</readonly>\n      <log_queries>1</log_queries>\n    </{WRITER}>\n  </profiles>\n  <quotas>\n    <qdp></qdp>\n  </quotas>\n  <users>\n"
    );
    for u in users {
        x.push_str(&user_xml(u, &ch.networks, redact));
    }
    x.push_str("  </users>\n</yandex>\n");
    x
}
