//! The `access.toml` file as typed structs (what the operator writes).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The whole policy file, as written (before interpolation and checks).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// The Postgres warehouse.
    pub postgres: Option<PostgresTarget>,
    /// The ClickHouse realtime store.
    pub clickhouse: Option<ClickHouseTarget>,
    /// Teams by name; each owns the schema `mart_<team>`.
    #[serde(default)]
    pub teams: BTreeMap<String, Team>,
    /// Roles (what people may do) by name.
    #[serde(default)]
    pub roles: BTreeMap<String, Role>,
    /// Pipelines (least-privilege writers) by name.
    #[serde(default)]
    pub pipelines: BTreeMap<String, Pipeline>,
    /// People and service accounts by name.
    #[serde(default)]
    pub users: BTreeMap<String, User>,
    /// Row filters: rows visible only to the team named in a column.
    #[serde(default)]
    pub row_filters: Vec<RowFilter>,
}

/// The Postgres target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresTarget {
    /// An admin connection (superuser: `pg_authid` is read to check passwords).
    pub url: String,
    /// Prefix of every role this policy owns; roles without it are never touched.
    #[serde(default = "default_prefix")]
    pub role_prefix: String,
    /// The warehouse schemas the policy manages (created if missing).
    #[serde(default = "default_schemas")]
    pub schemas: Vec<String>,
    /// Schemas where category tables (`<schema>.<category>`) land, whose PII
    /// columns only roles with `pii = true` may read. The catalogue of
    /// `pipelines` is not limited to them.
    #[serde(default = "default_pii_schemas")]
    pub pii_schemas: Vec<String>,
    /// Pipeline files (globs, relative to the policy file) whose catalogue
    /// says which columns hold personal data, in any managed schema: bronze
    /// copies and rejects of a category with `pii` fields, gold views.
    #[serde(default)]
    pub pipelines: Vec<String>,
    /// The files `pipelines` matched, resolved when the policy is checked.
    #[serde(skip)]
    pub pipeline_files: Vec<PathBuf>,
}

/// The ClickHouse target: a `users.d` file (ClickHouse 18.16 has no SQL users).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseTarget {
    /// HTTP endpoint, used to check that every user can log in.
    pub url: String,
    /// The server's `users.d` directory; the policy owns `qdp-access.xml` in it.
    pub users_dir: PathBuf,
    /// Networks users may connect from (`<ip>` entries).
    #[serde(default = "default_networks")]
    pub networks: Vec<String>,
}

/// A team.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// What the team does.
    #[serde(default)]
    pub description: String,
}

/// How much of a user's SQL the database logs (`log_statement`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Audit {
    /// Nothing beyond errors.
    None,
    /// Schema changes.
    #[default]
    Ddl,
    /// Schema changes and data changes.
    Mod,
    /// Every statement, reads included.
    All,
}

impl Audit {
    /// The `log_statement` value.
    pub fn name(self) -> &'static str {
        match self {
            Audit::None => "none",
            Audit::Ddl => "ddl",
            Audit::Mod => "mod",
            Audit::All => "all",
        }
    }
}

/// A role people hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// What the role is for.
    #[serde(default)]
    pub description: String,
    /// Postgres tables it reads: `schema.*`, `schema.table`, globs.
    #[serde(default)]
    pub reads: Vec<String>,
    /// May read PII columns.
    #[serde(default)]
    pub pii: bool,
    /// Sees every row of row-filtered tables.
    #[serde(default)]
    pub all_rows: bool,
    /// ClickHouse databases it reads (read-only profile).
    #[serde(default)]
    pub clickhouse_reads: Vec<String>,
    /// Statement logging for its holders.
    #[serde(default)]
    pub audit: Audit,
}

/// A pipeline's writer role.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// What the pipeline loads.
    #[serde(default)]
    pub description: String,
    /// Postgres tables it writes: `schema.*` (and may create tables in the
    /// schema) or `schema.table` / globs (existing tables only).
    #[serde(default)]
    pub writes: Vec<String>,
    /// Grants CREATE on the database, because a sink running
    /// `create schema if not exists` needs it even when the schema exists.
    #[serde(default)]
    pub create_schemas: bool,
    /// ClickHouse databases it writes (writer profile).
    #[serde(default)]
    pub clickhouse_writes: Vec<String>,
    /// Statement logging for its service accounts.
    #[serde(default)]
    pub audit: Audit,
}

/// A person or service account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Who this is.
    #[serde(default)]
    pub description: String,
    /// Teams the user belongs to.
    #[serde(default)]
    pub teams: Vec<String>,
    /// Roles the user holds.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The pipeline this service account runs as.
    pub pipeline: Option<String>,
    /// Where the password comes from: never the password itself.
    pub password: Option<PasswordSpec>,
    /// Overrides the statement logging derived from roles and pipeline.
    pub audit: Option<Audit>,
}

/// A password reference as written: a plain string is accepted by the
/// parser only so validation can refuse it with a useful message.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PasswordSpec {
    /// `{ env = "NAME" }` or `{ file = "/run/secrets/x" }`.
    Ref(SecretRef),
    /// A password in the file: refused.
    Plain(String),
}

/// `{ env = "NAME" }` or `{ file = "PATH" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// An environment variable holding the password.
    pub env: Option<String>,
    /// A file holding the password (trailing newline trimmed).
    pub file: Option<PathBuf>,
}

/// Rows of `table` visible only to members of the team named in `column`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowFilter {
    /// `schema.table`.
    pub table: String,
    /// The column holding a team name.
    pub column: String,
}

fn default_prefix() -> String {
    "qdp_".into()
}
fn default_schemas() -> Vec<String> {
    ["bronze", "silver", "gold", "ops"]
        .map(String::from)
        .to_vec()
}
fn default_pii_schemas() -> Vec<String> {
    vec!["silver".into()]
}
fn default_networks() -> Vec<String> {
    vec!["::/0".into()]
}
