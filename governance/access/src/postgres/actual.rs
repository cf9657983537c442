//! The access state the database has now, read from the catalogs: roles with
//! the policy's prefix, and every grant on the managed schemas (whoever the
//! grantee, so a grant made by hand shows up).

use super::desired::{Catalog, Table};
use super::fact::Fact;
use super::sql::POLICY_DIGEST;
use crate::error::Error;
use std::collections::BTreeSet;
use tokio_postgres::Client;

/// Grantee name of an `aclexplode` row (`0` is PUBLIC).
const GRANTEE: &str =
    "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee) END";

async fn rows(
    c: &Client,
    what: &str,
    sql: &str,
    args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Vec<String>>, Error> {
    let rows = c
        .query(sql, args)
        .await
        .map_err(|e| Error::postgres(what, e))?;
    Ok(rows
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.get::<_, Option<String>>(i).unwrap_or_default())
                .collect()
        })
        .collect())
}

/// The tables and views in `schemas`, with owners and columns.
pub async fn catalog(c: &Client, schemas: &[String]) -> Result<Catalog, Error> {
    let db = rows(c, "database name", "SELECT current_database()::text", &[]).await?;
    let tables = rows(
        c,
        "tables",
        "SELECT n.nspname::text, c.relname::text, c.relkind::text, pg_catalog.pg_get_userbyid(c.relowner)::text,
                (SELECT string_agg(a.attname::text, ',' ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          ORDER BY 1, 2",
        &[&schemas],
    )
    .await?;
    Ok(Catalog {
        db: db
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .unwrap_or_default(),
        tables: tables
            .into_iter()
            .map(|r| Table {
                schema: r[0].clone(),
                name: r[1].clone(),
                kind: r[2].clone(),
                owner: r[3].clone(),
                columns: r[4]
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
            })
            .collect(),
    })
}

/// Every fact the database holds that the policy judges.
pub async fn actual(c: &Client, prefix: &str, schemas: &[String]) -> Result<BTreeSet<Fact>, Error> {
    let mut out = BTreeSet::new();
    let p = &prefix;
    for r in rows(c, "roles", "SELECT rolname::text, concat_ws(' ', CASE WHEN rolcanlogin THEN 'LOGIN' ELSE 'NOLOGIN' END,
            CASE WHEN rolsuper THEN 'SUPERUSER' END, CASE WHEN rolcreatedb THEN 'CREATEDB' END,
            CASE WHEN rolcreaterole THEN 'CREATEROLE' END, CASE WHEN rolreplication THEN 'REPLICATION' END,
            CASE WHEN rolbypassrls THEN 'BYPASSRLS' END, CASE WHEN NOT rolinherit THEN 'NOINHERIT' END)
            FROM pg_catalog.pg_roles WHERE starts_with(rolname::text, $1::text)", &[p]).await? {
        out.insert(Fact::Role { name: r[0].clone(), attrs: r[1].clone() });
    }
    for r in rows(
        c,
        "schemas",
        "SELECT nspname::text FROM pg_catalog.pg_namespace WHERE nspname = ANY($1::text[])",
        &[&schemas],
    )
    .await?
    {
        out.insert(Fact::Schema { name: r[0].clone() });
    }
    for r in rows(c, "memberships", "SELECT g.rolname::text, m.rolname::text FROM pg_catalog.pg_auth_members a
            JOIN pg_catalog.pg_roles g ON g.oid = a.roleid JOIN pg_catalog.pg_roles m ON m.oid = a.member
            WHERE starts_with(g.rolname::text, $1::text) OR starts_with(m.rolname::text, $1::text)", &[p]).await? {
        out.insert(Fact::Member { group: r[0].clone(), member: r[1].clone() });
    }
    for r in rows(
        c,
        "role settings",
        "SELECT r.rolname::text, s.setting FROM pg_catalog.pg_db_role_setting d
            JOIN pg_catalog.pg_roles r ON r.oid = d.setrole, unnest(d.setconfig) AS s(setting)
            WHERE d.setdatabase = 0 AND starts_with(r.rolname::text, $1::text)",
        &[p],
    )
    .await?
    {
        if let Some((k, v)) = r[1].split_once('=') {
            out.insert(Fact::Setting {
                role: r[0].clone(),
                key: k.into(),
                value: v.into(),
            });
        }
    }
    let db_sql = format!("SELECT d.datname::text, {GRANTEE}, a.privilege_type FROM pg_catalog.pg_database d, aclexplode(d.datacl) a
            WHERE d.datname = current_database() AND a.grantee <> 0 AND starts_with(pg_catalog.pg_get_userbyid(a.grantee)::text, $1::text)");
    for r in rows(c, "database privileges", &db_sql, &[p]).await? {
        out.insert(Fact::DbPriv {
            db: r[0].clone(),
            grantee: r[1].clone(),
            privilege: r[2].clone(),
        });
    }
    let ns_sql = format!("SELECT n.nspname::text, {GRANTEE}, a.privilege_type FROM pg_catalog.pg_namespace n, aclexplode(n.nspacl) a
            WHERE n.nspname = ANY($1::text[]) AND a.grantee <> n.nspowner");
    for r in rows(c, "schema privileges", &ns_sql, &[&schemas]).await? {
        out.insert(Fact::SchemaPriv {
            schema: r[0].clone(),
            grantee: r[1].clone(),
            privilege: r[2].clone(),
        });
    }
    let rel_sql = format!("SELECT n.nspname::text, c.relname::text, {GRANTEE}, a.privilege_type
            FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
            WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.grantee <> c.relowner");
    for r in rows(c, "table privileges", &rel_sql, &[&schemas]).await? {
        out.insert(Fact::TablePriv {
            schema: r[0].clone(),
            table: r[1].clone(),
            grantee: r[2].clone(),
            privilege: r[3].clone(),
        });
    }
    let col_sql = format!("SELECT n.nspname::text, c.relname::text, t.attname::text, {GRANTEE}, a.privilege_type
            FROM pg_catalog.pg_attribute t JOIN pg_catalog.pg_class c ON c.oid = t.attrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace, aclexplode(t.attacl) a
            WHERE n.nspname = ANY($1::text[]) AND t.attnum > 0 AND NOT t.attisdropped AND a.grantee <> c.relowner");
    for r in rows(c, "column privileges", &col_sql, &[&schemas]).await? {
        out.insert(Fact::ColumnPriv {
            schema: r[0].clone(),
            table: r[1].clone(),
            column: r[2].clone(),
            grantee: r[3].clone(),
            privilege: r[4].clone(),
        });
    }
    let def_sql = format!("SELECT pg_catalog.pg_get_userbyid(d.defaclrole)::text, n.nspname::text, {GRANTEE}, a.privilege_type
            FROM pg_catalog.pg_default_acl d JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a
            WHERE d.defaclobjtype = 'r' AND n.nspname = ANY($1::text[])");
    for r in rows(c, "default privileges", &def_sql, &[&schemas]).await? {
        out.insert(Fact::DefaultPriv {
            owner: r[0].clone(),
            schema: r[1].clone(),
            grantee: r[2].clone(),
            privilege: r[3].clone(),
        });
    }
    for r in rows(c, "row-level security", "SELECT n.nspname::text, c.relname::text FROM pg_catalog.pg_class c
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1::text[]) AND c.relrowsecurity", &[&schemas]).await? {
        out.insert(Fact::Rls { schema: r[0].clone(), table: r[1].clone() });
    }
    let pol_sql = format!("SELECT p.schemaname::text, p.tablename::text, p.policyname::text,
            coalesce(pg_catalog.obj_description(o.oid, 'pg_policy'), ''), {POLICY_DIGEST}
            FROM pg_catalog.pg_policies p JOIN pg_catalog.pg_policy o ON o.polname = p.policyname
            AND o.polrelid = (quote_ident(p.schemaname) || '.' || quote_ident(p.tablename))::regclass
            WHERE p.schemaname = ANY($1::text[])");
    for r in rows(c, "policies", &pol_sql, &[&schemas]).await? {
        // The comment records what the policy was created from and the digest
        // of its stored definition then; a later hand edit breaks the match.
        let fingerprint = match r[3]
            .strip_prefix("qdp-access:")
            .and_then(|s| s.split_once(':'))
        {
            Some((fp, digest)) if digest == r[4] => fp.to_string(),
            Some(_) => "edited by hand".into(),
            None => "not created by qdp access".into(),
        };
        out.insert(Fact::Policy {
            schema: r[0].clone(),
            table: r[1].clone(),
            name: r[2].clone(),
            fingerprint,
            definition: String::new(),
        });
    }
    Ok(out)
}
