//! The SQL that adds, removes or changes a fact; statements carry a phase
//! so roles exist before grants and revocations run before grants.

use super::fact::{Fact, PHASE_ALTER, PHASE_CREATE, PHASE_DROP, PHASE_GRANT, PHASE_REVOKE};
use crate::names::{literal, quote};

/// Who a grantee is in SQL: `PUBLIC` or a quoted role.
fn grantee(g: &str) -> String {
    if g == "PUBLIC" {
        g.to_string()
    } else {
        quote(g)
    }
}

fn table(s: &str, t: &str) -> String {
    format!("{}.{}", quote(s), quote(t))
}

impl Fact {
    /// The statements that make the fact true, with their phase.
    pub fn add(&self) -> Vec<(u8, String)> {
        let g = PHASE_GRANT;
        match self {
            Fact::Role { name, attrs } => {
                vec![(PHASE_CREATE, format!("CREATE ROLE {} {attrs}", quote(name)))]
            }
            Fact::Schema { name } => vec![(
                PHASE_CREATE,
                format!("CREATE SCHEMA IF NOT EXISTS {}", quote(name)),
            )],
            Fact::Member { group, member } => {
                vec![(g, format!("GRANT {} TO {}", quote(group), quote(member)))]
            }
            Fact::Setting { role, key, value } => vec![(
                PHASE_ALTER,
                format!("ALTER ROLE {} SET {key} = {}", quote(role), literal(value)),
            )],
            Fact::DbPriv {
                db,
                grantee: to,
                privilege,
            } => vec![(
                g,
                format!(
                    "GRANT {privilege} ON DATABASE {} TO {}",
                    quote(db),
                    grantee(to)
                ),
            )],
            Fact::SchemaPriv {
                schema,
                grantee: to,
                privilege,
            } => vec![(
                g,
                format!(
                    "GRANT {privilege} ON SCHEMA {} TO {}",
                    quote(schema),
                    grantee(to)
                ),
            )],
            Fact::TablePriv {
                schema,
                table: t,
                grantee: to,
                privilege,
            } => vec![(
                g,
                format!(
                    "GRANT {privilege} ON TABLE {} TO {}",
                    table(schema, t),
                    grantee(to)
                ),
            )],
            Fact::ColumnPriv {
                schema,
                table: t,
                column,
                grantee: to,
                privilege,
            } => vec![(
                g,
                format!(
                    "GRANT {privilege} ({}) ON TABLE {} TO {}",
                    quote(column),
                    table(schema, t),
                    grantee(to)
                ),
            )],
            Fact::DefaultPriv {
                owner,
                schema,
                grantee: to,
                privilege,
            } => vec![(
                g,
                format!(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT {privilege} ON TABLES TO {}",
                    quote(owner),
                    quote(schema),
                    grantee(to)
                ),
            )],
            Fact::Rls { schema, table: t } => vec![(
                g,
                format!("ALTER TABLE {} ENABLE ROW LEVEL SECURITY", table(schema, t)),
            )],
            Fact::Policy {
                schema,
                table: t,
                name,
                fingerprint,
                definition,
            } => vec![
                (
                    g,
                    format!(
                        "CREATE POLICY {} ON {} {definition}",
                        quote(name),
                        table(schema, t)
                    ),
                ),
                (g, policy_comment(schema, t, name, fingerprint)),
            ],
        }
    }

    /// The statements that make the fact false.
    pub fn remove(&self) -> Vec<(u8, String)> {
        let r = PHASE_REVOKE;
        match self {
            Fact::Role { name, .. } => vec![(PHASE_DROP, format!("DROP ROLE {}", quote(name)))],
            Fact::Schema { .. } => vec![],
            Fact::Member { group, member } => {
                vec![(r, format!("REVOKE {} FROM {}", quote(group), quote(member)))]
            }
            Fact::Setting { role, key, .. } => vec![(
                PHASE_ALTER,
                format!("ALTER ROLE {} RESET {key}", quote(role)),
            )],
            Fact::DbPriv {
                db,
                grantee: to,
                privilege,
            } => vec![(
                r,
                format!(
                    "REVOKE {privilege} ON DATABASE {} FROM {}",
                    quote(db),
                    grantee(to)
                ),
            )],
            Fact::SchemaPriv {
                schema,
                grantee: to,
                privilege,
            } => vec![(
                r,
                format!(
                    "REVOKE {privilege} ON SCHEMA {} FROM {}",
                    quote(schema),
                    grantee(to)
                ),
            )],
            Fact::TablePriv {
                schema,
                table: t,
                grantee: to,
                privilege,
            } => vec![(
                r,
                format!(
                    "REVOKE {privilege} ON TABLE {} FROM {}",
                    table(schema, t),
                    grantee(to)
                ),
            )],
            Fact::ColumnPriv {
                schema,
                table: t,
                column,
                grantee: to,
                privilege,
            } => vec![(
                r,
                format!(
                    "REVOKE {privilege} ({}) ON TABLE {} FROM {}",
                    quote(column),
                    table(schema, t),
                    grantee(to)
                ),
            )],
            Fact::DefaultPriv {
                owner,
                schema,
                grantee: to,
                privilege,
            } => vec![(
                r,
                format!(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} REVOKE {privilege} ON TABLES FROM {}",
                    quote(owner),
                    quote(schema),
                    grantee(to)
                ),
            )],
            Fact::Rls { schema, table: t } => vec![(
                r,
                format!(
                    "ALTER TABLE {} DISABLE ROW LEVEL SECURITY",
                    table(schema, t)
                ),
            )],
            Fact::Policy {
                schema,
                table: t,
                name,
                ..
            } => vec![(
                r,
                format!("DROP POLICY {} ON {}", quote(name), table(schema, t)),
            )],
        }
    }

    /// The statements that turn `self` (actual) into `to` (desired, same key).
    pub fn change_to(&self, to: &Fact) -> Vec<(u8, String)> {
        match to {
            Fact::Role { name, attrs } => vec![(
                PHASE_ALTER,
                format!(
                    "ALTER ROLE {} {attrs} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT",
                    quote(name)
                ),
            )],
            Fact::Setting { .. } => to.add(),
            _ => self.remove().into_iter().chain(to.add()).collect(),
        }
    }
}

/// The `md5` of a policy's definition as Postgres stores it, over the
/// `pg_policies` row aliased `p`; kept in the policy's comment so a policy
/// altered by hand no longer matches.
pub const POLICY_DIGEST: &str = "md5(coalesce(p.qual, '') || '|' || coalesce(p.with_check, '') || '|' || p.cmd || '|' || p.permissive || '|' || array_to_string(p.roles, ','))";

/// A comment `qdp-access:<fingerprint>:<digest of the stored definition>`.
fn policy_comment(schema: &str, t: &str, name: &str, fingerprint: &str) -> String {
    format!(
        "DO $qdp$ BEGIN EXECUTE format('COMMENT ON POLICY %I ON %I.%I IS %L', {n}, {s}, {t}, \
         'qdp-access:' || {f} || ':' || (SELECT {POLICY_DIGEST} FROM pg_catalog.pg_policies p \
         WHERE p.schemaname = {s} AND p.tablename = {t} AND p.policyname = {n})); END $qdp$",
        n = literal(name),
        s = literal(schema),
        t = literal(t),
        f = literal(fingerprint),
    )
}
