//! Row-level security from `[[row_filters]]`: a row is visible to members
//! of the team its column names; the table's writers and `all_rows` roles
//! see every row.

use super::desired::{Catalog, matches};
use super::fact::Fact;
use crate::names::{self, literal, quote};
use crate::policy::Policy;

/// Row-level security: rows visible to members of the team named in a
/// column; writers of the table and `all_rows` roles see every row.
pub(super) fn row_filters(policy: &Policy, p: &str, cat: &Catalog, add: &mut impl FnMut(Fact)) {
    let spec = &policy.spec;
    for f in &spec.row_filters {
        let Some((schema, table)) = f.table.split_once('.') else {
            continue;
        };
        if !cat
            .tables
            .iter()
            .any(|t| t.schema == schema && t.name == table)
        {
            continue;
        }
        add(Fact::Rls {
            schema: schema.into(),
            table: table.into(),
        });
        // A value naming no team matches no role: the row is simply hidden.
        let team_rows = format!(
            "AS PERMISSIVE FOR SELECT TO PUBLIC USING (EXISTS (SELECT 1 FROM pg_catalog.pg_roles r \
             WHERE r.rolname = {} || lower(regexp_replace({}, '[^A-Za-z0-9]+', '_', 'g')) \
             AND pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')))",
            literal(&format!("{p}team_")),
            quote(&f.column)
        );
        add(policy_fact(
            schema,
            table,
            &format!("{p}team_rows"),
            team_rows,
        ));
        let mut all: Vec<String> = spec
            .pipelines
            .iter()
            .filter(|(_, pl)| matches(&pl.writes, schema, table))
            .map(|(n, _)| names::pipeline_role(p, n))
            .chain(
                spec.roles
                    .iter()
                    .filter(|(_, r)| r.all_rows)
                    .map(|(n, _)| names::role_role(p, n)),
            )
            .collect();
        all.sort();
        if !all.is_empty() {
            let to: Vec<String> = all.iter().map(|r| quote(r)).collect();
            let def = format!(
                "AS PERMISSIVE FOR ALL TO {} USING (true) WITH CHECK (true)",
                to.join(", ")
            );
            add(policy_fact(schema, table, &format!("{p}all_rows"), def));
        }
    }
}

fn policy_fact(schema: &str, table: &str, name: &str, definition: String) -> Fact {
    let fingerprint = qdp_sdk::raw::sha256_hex(definition.as_bytes())[..16].to_string();
    Fact::Policy {
        schema: schema.into(),
        table: table.into(),
        name: name.into(),
        fingerprint,
        definition,
    }
}
