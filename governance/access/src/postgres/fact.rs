//! One unit of Postgres access state (a role, a grant, a policy...), the
//! same shape whether it comes from the policy or from the catalogs, so a
//! plan is a set difference and each fact knows how to add or remove itself.

/// A fact about the database's access state.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fact {
    /// A role; `attrs` is `LOGIN` or `NOLOGIN` plus any unwanted attribute.
    Role { name: String, attrs: String },
    /// A schema exists.
    Schema { name: String },
    /// `member` is a member of `group`.
    Member { group: String, member: String },
    /// A per-role setting (`ALTER ROLE .. SET`).
    Setting {
        role: String,
        key: String,
        value: String,
    },
    /// A privilege on the database.
    DbPriv {
        db: String,
        grantee: String,
        privilege: String,
    },
    /// A privilege on a schema.
    SchemaPriv {
        schema: String,
        grantee: String,
        privilege: String,
    },
    /// A privilege on a table or view.
    TablePriv {
        schema: String,
        table: String,
        grantee: String,
        privilege: String,
    },
    /// A privilege on one column.
    ColumnPriv {
        schema: String,
        table: String,
        column: String,
        grantee: String,
        privilege: String,
    },
    /// A default privilege for tables `owner` creates in `schema`.
    DefaultPriv {
        owner: String,
        schema: String,
        grantee: String,
        privilege: String,
    },
    /// Row-level security is enabled on a table.
    Rls { schema: String, table: String },
    /// A row-level security policy; `fingerprint` identifies its definition.
    Policy {
        schema: String,
        table: String,
        name: String,
        fingerprint: String,
        definition: String,
    },
}

/// Order in which statements run: roles first, revokes before grants,
/// role drops last.
pub const PHASE_CREATE: u8 = 0;
/// Role attributes and settings.
pub const PHASE_ALTER: u8 = 1;
/// Revocations.
pub const PHASE_REVOKE: u8 = 2;
/// Grants, memberships, policies.
pub const PHASE_GRANT: u8 = 3;
/// Role drops.
pub const PHASE_DROP: u8 = 4;

impl Fact {
    /// What identifies the fact; two facts with one key and different
    /// values are one change, not an add and a remove.
    pub fn key(&self) -> String {
        match self {
            Fact::Role { name, .. } => format!("role {name}"),
            Fact::Setting { role, key, .. } => format!("setting {role} {key}"),
            Fact::Policy {
                schema,
                table,
                name,
                ..
            } => format!("policy {schema}.{table} {name}"),
            other => format!("{other:?}"),
        }
    }

    /// The part compared under one key.
    pub fn value(&self) -> &str {
        match self {
            Fact::Role { attrs, .. } => attrs,
            Fact::Setting { value, .. } => value,
            Fact::Policy { fingerprint, .. } => fingerprint,
            _ => "",
        }
    }

    /// A human description, for `diff`.
    pub fn describe(&self) -> String {
        match self {
            Fact::Role { name, attrs } => format!("role {name} ({attrs})"),
            Fact::Schema { name } => format!("schema {name}"),
            Fact::Member { group, member } => format!("{member} is a member of {group}"),
            Fact::Setting { role, key, value } => format!("{role}: {key} = {value}"),
            Fact::DbPriv {
                db,
                grantee,
                privilege,
            } => format!("{privilege} on database {db} to {grantee}"),
            Fact::SchemaPriv {
                schema,
                grantee,
                privilege,
            } => format!("{privilege} on schema {schema} to {grantee}"),
            Fact::TablePriv {
                schema,
                table,
                grantee,
                privilege,
            } => format!("{privilege} on {schema}.{table} to {grantee}"),
            Fact::ColumnPriv {
                schema,
                table,
                column,
                grantee,
                privilege,
            } => format!("{privilege} ({column}) on {schema}.{table} to {grantee}"),
            Fact::DefaultPriv {
                owner,
                schema,
                grantee,
                privilege,
            } => format!("default {privilege} on tables {owner} creates in {schema} to {grantee}"),
            Fact::Rls { schema, table } => format!("row-level security on {schema}.{table}"),
            Fact::Policy {
                schema,
                table,
                name,
                ..
            } => format!("policy {name} on {schema}.{table}"),
        }
    }
}
