//! Category tables in silver, generated from the SDK's category schemas.
//!
//! The DDL text uses the placeholders `{silver}` (and the other schema
//! names) so its checksum does not depend on how an operator named the
//! schemas; [`render`] fills them in. It is idempotent (`if not exists`
//! everywhere, nullable fields added with `add column if not exists`), so a
//! new schema version that adds nullable fields evolves an existing table.

use crate::config::Schemas;
use crate::ident::{literal, quote};
use crate::values::pg_type_name;
use qdp_sdk::schema::CategorySchema;

/// Columns the sink adds to every category table.
pub const META_COLUMNS: [&str; 3] = ["source_table_name", "platform_worker_name", "loaded_at"];

/// Fields that describe the load rather than the value: a change in them
/// alone is not a revision (a re-pull has a new `ingestion_time`).
pub const LOAD_FIELDS: [&str; 2] = ["ingestion_time", "component_instance_name"];

/// The placeholder form of `{schema}.table`.
pub fn table(schema_placeholder: &str, name: &str) -> String {
    format!("{{{schema_placeholder}}}.{}", quote(name))
}

/// Fills `{bronze}`, `{silver}`, `{gold}` and `{ops}` with quoted schema names.
pub fn render(sql: &str, s: &Schemas) -> String {
    sql.replace("{bronze}", &quote(&s.bronze))
        .replace("{silver}", &quote(&s.silver))
        .replace("{gold}", &quote(&s.gold))
        .replace("{ops}", &quote(&s.ops))
}

/// The DDL of `silver.<category>` (placeholders unrendered).
pub fn category_table(c: &CategorySchema) -> String {
    let t = table("silver", &c.name);
    let mut cols: Vec<String> = c
        .fields
        .iter()
        .map(|f| {
            let null = if f.nullable { "" } else { " not null" };
            format!("    {} {}{null}", quote(&f.name), pg_type_name(f.ty))
        })
        .collect();
    cols.push("    source_table_name text not null".into());
    cols.push("    platform_worker_name text not null".into());
    cols.push("    loaded_at timestamptz not null default now()".into());
    let mut sql = format!(
        "create table if not exists {t} (\n{}\n);\n",
        cols.join(",\n")
    );
    for f in c.fields.iter().filter(|f| f.nullable) {
        sql.push_str(&format!(
            "alter table {t} add column if not exists {} {};\n",
            quote(&f.name),
            pg_type_name(f.ty)
        ));
    }
    let key: Vec<String> = c.unique_key.iter().map(|k| quote(k)).collect();
    // NULLS NOT DISTINCT (Postgres 15+): a nullable key field (the
    // release_time of economic_data_releases) still names one row.
    sql.push_str(&format!(
        "create unique index if not exists {} on {t} ({}) nulls not distinct;\n",
        quote(&format!("{}_unique_key", c.name)),
        key.join(", ")
    ));
    sql.push_str(&format!(
        "comment on table {t} is {};\n",
        literal(&format!(
            "{} (qdp category schema v{})",
            c.description, c.version
        ))
    ));
    for f in &c.fields {
        sql.push_str(&format!(
            "comment on column {t}.{} is {};\n",
            quote(&f.name),
            literal(&f.glossary)
        ));
    }
    sql
}

/// Fields of `c` compared to tell a revision from a replay.
pub fn value_fields(c: &CategorySchema) -> Vec<&str> {
    c.fields
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| !c.unique_key.iter().any(|k| k == n) && !LOAD_FIELDS.contains(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_economic_data_table() {
        let c = qdp_sdk::schema::registry()
            .get("numeric_economic_data")
            .unwrap_or_else(|| panic!("schema missing"));
        let sql = category_table(c);
        assert!(
            sql.contains(r#""release_time" timestamptz not null"#),
            "{sql}"
        );
        assert!(sql.contains(r#""reference_period" text,"#), "{sql}");
        assert!(sql.contains(r#"("source_system_name", "release_code", "release_time", "release_field") nulls not distinct"#), "{sql}");
        assert_eq!(
            value_fields(c),
            vec![
                "publisher_code",
                "release_field_value",
                "release_field_value_unit",
                "reference_period"
            ]
        );
        let s = Schemas {
            bronze: "b".into(),
            silver: "s".into(),
            gold: "g".into(),
            ops: "o".into(),
        };
        assert!(
            render(&sql, &s)
                .starts_with(r#"create table if not exists "s"."numeric_economic_data""#)
        );
    }
}
