//! The text of the page queries, for both dialects.
//!
//! Pages are read by keyset: `where (updated_at, pk) > (cursor) order by
//! updated_at, pk limit n`. Comparing the whole tuple (not `updated_at`
//! alone) is what makes ties safe: rows sharing the watermark's
//! `updated_at` but with a larger key are still read, rows already read are
//! not. The cursor is the database's own text of the key values, cast back
//! to the column's type in the query, so it compares exactly.

use crate::config::Dialect;
use crate::state::Cursor;
use crate::table::{ColumnInfo, TableSpec};
use std::time::Duration;

/// Where a page starts.
#[derive(Debug, Clone, Copy)]
pub enum Lower<'a> {
    /// The first row with an `updated_at`.
    Start,
    /// Just after this position.
    After(&'a Cursor),
    /// At `updated_at` minus the lookback window (first page of a re-read).
    Since(&'a Cursor, Duration),
}

/// A page's bounds: from `lower`, up to and including `upper`.
#[derive(Debug, Clone, Copy)]
pub struct Range<'a> {
    /// Start.
    pub lower: Lower<'a>,
    /// End, inclusive (the stored watermark while re-reading the lookback window).
    pub upper: Option<&'a Cursor>,
}

/// A query and its parameters, all text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// SQL text.
    pub sql: String,
    /// Positional parameters.
    pub params: Vec<String>,
}

/// Quotes an identifier.
pub fn ident(d: Dialect, name: &str) -> String {
    match d {
        Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
        Dialect::MySql => format!("`{}`", name.replace('`', "``")),
    }
}

fn table_ref(d: Dialect, t: &TableSpec) -> String {
    format!("{}.{}", ident(d, &t.schema), ident(d, &t.name))
}

/// Whether MySQL stores the column as bytes rather than text.
pub fn mysql_is_binary(c: &ColumnInfo) -> bool {
    matches!(
        c.base_type.as_str(),
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "bit"
    )
}

/// Postgres types the driver decodes itself; any other is read as its text.
pub fn pg_is_native(c: &ColumnInfo) -> bool {
    matches!(
        c.base_type.as_str(),
        "bool"
            | "int2"
            | "int4"
            | "int8"
            | "oid"
            | "float4"
            | "float8"
            | "text"
            | "varchar"
            | "bpchar"
            | "name"
            | "bytea"
            | "timestamptz"
            | "timestamp"
            | "date"
            | "time"
    )
}

/// The select-list expression of a rendered column.
fn rendered_expr(d: Dialect, c: &ColumnInfo) -> String {
    let q = ident(d, &c.name);
    match d {
        Dialect::Postgres if !pg_is_native(c) => format!("{q}::text"),
        _ => q,
    }
}

/// The select-list expression of a key column's exact text.
fn key_expr(d: Dialect, c: &ColumnInfo) -> String {
    let q = ident(d, &c.name);
    match d {
        Dialect::Postgres => format!("{q}::text"),
        Dialect::MySql if mysql_is_binary(c) => format!("HEX({q})"),
        Dialect::MySql => format!("CAST({q} AS CHAR)"),
    }
}

/// A parameter cast back to the column's type. `n` is 1-based.
fn param_expr(d: Dialect, c: &ColumnInfo, n: usize) -> String {
    match d {
        Dialect::Postgres => format!("${n}::text::{}", c.full_type),
        Dialect::MySql => {
            let unsigned = c.full_type.contains("unsigned");
            match c.base_type.as_str() {
                "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" => {
                    if unsigned {
                        "CAST(? AS UNSIGNED)".into()
                    } else {
                        "CAST(? AS SIGNED)".into()
                    }
                }
                "decimal" | "numeric" => {
                    let spec = c
                        .full_type
                        .find('(')
                        .map_or("", |i| c.full_type[i..].split(')').next().unwrap_or(""));
                    if spec.is_empty() {
                        "CAST(? AS DECIMAL(65,30))".into()
                    } else {
                        format!("CAST(? AS DECIMAL{spec}))")
                    }
                }
                "datetime" | "timestamp" => "CAST(? AS DATETIME(6))".into(),
                "date" => "CAST(? AS DATE)".into(),
                "time" => "CAST(? AS TIME(6))".into(),
                "float" | "double" | "real" => "CAST(? AS DOUBLE)".into(),
                _ if mysql_is_binary(c) => "UNHEX(?)".into(),
                _ => "?".into(),
            }
        }
    }
}

/// `(k1, k2, …) <op> (p1, p2, …)` with the cursor's values as parameters.
fn tuple_cmp(
    d: Dialect,
    keys: &[&ColumnInfo],
    op: &str,
    cursor: &Cursor,
    params: &mut Vec<String>,
) -> String {
    let cols: Vec<String> = keys.iter().map(|c| ident(d, &c.name)).collect();
    let mut ps = Vec::with_capacity(keys.len());
    let values = std::iter::once(&cursor.updated_at).chain(cursor.pk.iter());
    for (c, v) in keys.iter().zip(values) {
        params.push(v.clone());
        ps.push(param_expr(d, c, params.len()));
    }
    format!("({}) {op} ({})", cols.join(", "), ps.join(", "))
}

/// Rendered columns then key texts, each under a positional alias so no
/// output name shadows a column in `ORDER BY` (a key column appears twice).
fn select_list(d: Dialect, t: &TableSpec) -> String {
    t.rendered()
        .into_iter()
        .map(|c| rendered_expr(d, c))
        .chain(t.keys().into_iter().map(|c| key_expr(d, c)))
        .enumerate()
        .map(|(i, e)| format!("{e} AS {}", ident(d, &format!("_c{i}"))))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One page of rows in `range`, in `(updated_at, pk)` order.
pub fn page(d: Dialect, t: &TableSpec, range: Range<'_>, limit: usize) -> Query {
    let keys = t.keys();
    let ua = ident(d, &t.updated_at.name);
    let mut params = Vec::new();
    let mut conds = Vec::new();
    match range.lower {
        Lower::Start => conds.push(format!("{ua} IS NOT NULL")),
        Lower::After(c) => conds.push(tuple_cmp(d, &keys, ">", c, &mut params)),
        Lower::Since(c, window) => {
            params.push(c.updated_at.clone());
            let p = param_expr(d, &t.updated_at, params.len());
            let micros = window.as_micros();
            conds.push(match d {
                Dialect::Postgres => format!("{ua} >= {p} - interval '{micros} microseconds'"),
                Dialect::MySql => format!("{ua} >= {p} - INTERVAL {micros} MICROSECOND"),
            });
        }
    }
    if let Some(u) = range.upper {
        conds.push(tuple_cmp(d, &keys, "<=", u, &mut params));
    }
    let order: Vec<String> = keys.iter().map(|c| ident(d, &c.name)).collect();
    Query {
        sql: format!(
            "SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT {limit}",
            select_list(d, t),
            table_ref(d, t),
            conds.join(" AND "),
            order.join(", ")
        ),
        params,
    }
}

/// Every row whose `updated_at` is NULL, by primary key.
pub fn nulls(d: Dialect, t: &TableSpec) -> Query {
    let order: Vec<String> = t.pk.iter().map(|c| ident(d, &c.name)).collect();
    Query {
        sql: format!(
            "SELECT {} FROM {} WHERE {} IS NULL ORDER BY {}",
            select_list(d, t),
            table_ref(d, t),
            ident(d, &t.updated_at.name),
            order.join(", ")
        ),
        params: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, base: &str, full: &str) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            base_type: base.into(),
            full_type: full.into(),
            nullable: false,
        }
    }

    fn spec() -> TableSpec {
        TableSpec {
            schema: "public".into(),
            name: "clients".into(),
            dataset: "clients".into(),
            columns: vec![
                col("id", "int8", "bigint"),
                col("amount", "numeric", "numeric(12,2)"),
            ],
            pk: vec![col("id", "int8", "bigint")],
            updated_at: col("updated_at", "timestamptz", "timestamp with time zone"),
            deleted: None,
        }
    }

    #[test]
    fn keyset_compares_the_whole_tuple_with_typed_parameters() {
        let c = Cursor {
            updated_at: "2026-01-01 00:00:00+00".into(),
            pk: vec!["5".into()],
        };
        let q = page(
            Dialect::Postgres,
            &spec(),
            Range {
                lower: Lower::After(&c),
                upper: None,
            },
            100,
        );
        assert_eq!(
            q.sql,
            "SELECT \"id\" AS \"_c0\", \"amount\"::text AS \"_c1\", \"updated_at\" AS \"_c2\", \"id\" AS \"_c3\", \"updated_at\"::text AS \"_c4\", \"id\"::text AS \"_c5\" FROM \"public\".\"clients\" WHERE (\"updated_at\", \"id\") > ($1::text::timestamp with time zone, $2::text::bigint) ORDER BY \"updated_at\", \"id\" LIMIT 100"
        );
        assert_eq!(q.params, vec!["2026-01-01 00:00:00+00", "5"]);
    }

    #[test]
    fn mysql_casts_by_type_and_bounds_the_lookback() {
        let mut t = spec();
        t.pk = vec![col("id", "int", "int(10) unsigned")];
        t.updated_at = col("updated_at", "datetime", "datetime(6)");
        t.columns = vec![col("price", "decimal", "decimal(12,2)")];
        let c = Cursor {
            updated_at: "2026-01-01 00:00:00.000000".into(),
            pk: vec!["5".into()],
        };
        let q = page(
            Dialect::MySql,
            &t,
            Range {
                lower: Lower::Since(&c, Duration::from_secs(2)),
                upper: Some(&c),
            },
            10,
        );
        assert!(
            q.sql.contains("`updated_at` >= CAST(? AS DATETIME(6)) - INTERVAL 2000000 MICROSECOND AND (`updated_at`, `id`) <= (CAST(? AS DATETIME(6)), CAST(? AS UNSIGNED))"),
            "{}",
            q.sql
        );
        assert_eq!(q.params.len(), 3);
        let d = col("price", "decimal", "decimal(12,2)");
        assert_eq!(
            param_expr(Dialect::MySql, &d, 1),
            "CAST(? AS DECIMAL(12,2))"
        );
    }
}
