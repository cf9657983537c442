//! The access state a policy asks for, given the tables that exist now:
//! grants on existing tables, default privileges for tables still to come.

use super::fact::Fact;
use super::pii::CataloguePii;
use crate::names::{self, glob};
use crate::policy::{Audit, Policy, PostgresTarget};
use std::collections::{BTreeMap, BTreeSet};

/// A table or view in a managed schema.
#[derive(Debug, Clone)]
pub struct Table {
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
    /// `pg_class.relkind`: `r`, `p` (tables), `v`, `m`, `f`.
    pub kind: String,
    /// Its owner.
    pub owner: String,
    /// Its columns, in order.
    pub columns: Vec<String>,
}

/// What exists in the database that the desired state depends on.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The database's name.
    pub db: String,
    /// Tables and views in the managed and mart schemas.
    pub tables: Vec<Table>,
}

/// Privileges a writer holds on a table it does not own.
const WRITE: [&str; 5] = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"];

pub(super) fn matches(patterns: &[String], schema: &str, table: &str) -> bool {
    patterns.iter().any(|p| {
        p.split_once('.')
            .is_some_and(|(s, t)| s == schema && glob(t, table))
    })
}

fn schemas_of(patterns: &[String]) -> BTreeSet<String> {
    patterns
        .iter()
        .filter_map(|p| p.split_once('.'))
        .map(|(s, _)| s.to_string())
        .collect()
}

fn whole_schemas(patterns: &[String]) -> BTreeSet<String> {
    patterns
        .iter()
        .filter_map(|p| p.strip_suffix(".*"))
        .map(String::from)
        .collect()
}

/// Every fact the policy wants on the Postgres target.
pub fn desired(
    policy: &Policy,
    pg: &PostgresTarget,
    cat: &Catalog,
    pii: &CataloguePii,
) -> BTreeSet<Fact> {
    let spec = &policy.spec;
    let p = pg.role_prefix.as_str();
    let mut out = BTreeSet::new();
    let mut add = |f: Fact| {
        out.insert(f);
    };
    let priv_on_schema = |schema: &str, grantee: &str, privilege: &str| Fact::SchemaPriv {
        schema: schema.into(),
        grantee: grantee.into(),
        privilege: privilege.into(),
    };
    for s in &pg.schemas {
        add(Fact::Schema { name: s.clone() });
    }
    // Teams: a group role and a mart schema only the team reads and writes.
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, u) in &spec.users {
        for t in &u.teams {
            members
                .entry(t.clone())
                .or_default()
                .push(names::user_login(p, name));
        }
    }
    for team in spec.teams.keys() {
        let role = names::team_role(p, team);
        let mart = names::mart_schema(team);
        add(Fact::Role {
            name: role.clone(),
            attrs: "NOLOGIN".into(),
        });
        add(Fact::Schema { name: mart.clone() });
        add(priv_on_schema(&mart, &role, "USAGE"));
        add(priv_on_schema(&mart, &role, "CREATE"));
        for t in cat
            .tables
            .iter()
            .filter(|t| t.schema == mart && t.owner != role)
        {
            for w in WRITE {
                add(table_priv(t, &role, w));
            }
        }
        for m in members.get(team).into_iter().flatten() {
            for w in WRITE {
                add(Fact::DefaultPriv {
                    owner: m.clone(),
                    schema: mart.clone(),
                    grantee: role.clone(),
                    privilege: w.into(),
                });
            }
        }
    }
    // Roles: read access; PII columns only with `pii`.
    for (name, r) in &spec.roles {
        let role = names::role_role(p, name);
        add(Fact::Role {
            name: role.clone(),
            attrs: "NOLOGIN".into(),
        });
        for s in schemas_of(&r.reads) {
            add(priv_on_schema(&s, &role, "USAGE"));
        }
        for t in cat
            .tables
            .iter()
            .filter(|t| matches(&r.reads, &t.schema, &t.name))
        {
            let pii = pii.of(t, &pg.pii_schemas);
            if pii.is_empty() || r.pii {
                add(table_priv(t, &role, "SELECT"));
            } else {
                for c in t.columns.iter().filter(|c| !pii.contains(*c)) {
                    add(Fact::ColumnPriv {
                        schema: t.schema.clone(),
                        table: t.name.clone(),
                        column: c.clone(),
                        grantee: role.clone(),
                        privilege: "SELECT".into(),
                    });
                }
            }
        }
    }
    // Pipelines: write exactly their tables; create tables in `schema.*`.
    for (name, pl) in &spec.pipelines {
        let role = names::pipeline_role(p, name);
        add(Fact::Role {
            name: role.clone(),
            attrs: "NOLOGIN".into(),
        });
        if pl.create_schemas {
            add(Fact::DbPriv {
                db: cat.db.clone(),
                grantee: role.clone(),
                privilege: "CREATE".into(),
            });
        }
        for s in schemas_of(&pl.writes) {
            add(priv_on_schema(&s, &role, "USAGE"));
        }
        for s in whole_schemas(&pl.writes) {
            add(priv_on_schema(&s, &role, "CREATE"));
            // Tables it creates later are readable by the roles reading the schema.
            for (rname, r) in &spec.roles {
                let readable = r.reads.iter().any(|x| x == &format!("{s}.*"));
                let guarded = pg.pii_schemas.contains(&s) || pii.table_schemas.contains(&s);
                if readable && (r.pii || !guarded) {
                    add(Fact::DefaultPriv {
                        owner: role.clone(),
                        schema: s.clone(),
                        grantee: names::role_role(p, rname),
                        privilege: "SELECT".into(),
                    });
                }
            }
        }
        for t in cat
            .tables
            .iter()
            .filter(|t| matches(&pl.writes, &t.schema, &t.name) && t.owner != role)
        {
            let privs: &[&str] = if t.kind == "r" || t.kind == "p" {
                &WRITE
            } else {
                &["SELECT"]
            };
            for w in privs {
                add(table_priv(t, &role, w));
            }
        }
    }
    users(policy, p, &mut add);
    super::rows::row_filters(policy, p, cat, &mut add);
    out
}

fn table_priv(t: &Table, grantee: &str, privilege: &str) -> Fact {
    Fact::TablePriv {
        schema: t.schema.clone(),
        table: t.name.clone(),
        grantee: grantee.into(),
        privilege: privilege.into(),
    }
}

/// Logins, their memberships and their audit settings.
fn users(policy: &Policy, p: &str, add: &mut impl FnMut(Fact)) {
    let spec = &policy.spec;
    for (name, u) in &spec.users {
        let login = names::user_login(p, name);
        add(Fact::Role {
            name: login.clone(),
            attrs: "LOGIN".into(),
        });
        let mut audit = Vec::new();
        for t in &u.teams {
            add(Fact::Member {
                group: names::team_role(p, t),
                member: login.clone(),
            });
        }
        for r in &u.roles {
            add(Fact::Member {
                group: names::role_role(p, r),
                member: login.clone(),
            });
            audit.extend(spec.roles.get(r).map(|r| r.audit));
        }
        if let Some(pl) = &u.pipeline {
            let role = names::pipeline_role(p, pl);
            add(Fact::Member {
                group: role.clone(),
                member: login.clone(),
            });
            // Sessions run as the writer role, so every service account of
            // the pipeline creates tables the same role owns.
            add(Fact::Setting {
                role: login.clone(),
                key: "role".into(),
                value: role,
            });
            audit.extend(spec.pipelines.get(pl).map(|p| p.audit));
        }
        let level = u
            .audit
            .or_else(|| audit.into_iter().max())
            .unwrap_or(Audit::Ddl);
        add(Fact::Setting {
            role: login,
            key: "log_statement".into(),
            value: level.name().into(),
        });
    }
}
