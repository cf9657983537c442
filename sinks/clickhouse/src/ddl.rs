//! Table design and the SQL that creates and evolves it, for the server
//! version found at open.
//!
//! Everything here is pure text generation, so the DDL for any server
//! version can be unit-tested without one.

use qdp_sdk::arrow::datatypes::{DataType, Field, Schema};

/// Column the sink stamps on every row: when the realtime store received it
/// (ARCHITECTURE §7); also the ReplacingMergeTree version, so the newest copy of
/// a row wins.
pub const INGESTED: &str = "ingestion_time_realtime_store";
/// Batch identity columns of tables without a natural key: together with
/// [`ROW`] they name a row across replays (`(origin, producer, seq)` is
/// stable when a source replays deterministically).
pub const ORIGIN: &str = "_qdp_origin";
/// The component that emitted the batch.
pub const PRODUCER: &str = "_qdp_producer";
/// The batch number per origin.
pub const SEQ: &str = "_qdp_seq";
/// The row's index in its batch.
pub const ROW: &str = "_qdp_row";

/// Column names the sink writes itself; a batch column of the same name is ignored.
pub fn is_reserved(name: &str) -> bool {
    [INGESTED, ORIGIN, PRODUCER, SEQ, ROW].contains(&name)
}

/// What the server supports, from its version string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flavor {
    /// `DateTime64(9, 'UTC')` columns (and as a ReplacingMergeTree version).
    /// DateTime64 exists since 20.1 but is a version column only since 21.6,
    /// so older servers get UInt64 nanoseconds plus a DateTime column.
    pub datetime64: bool,
}

impl Flavor {
    /// From `SELECT version()`, e.g. `18.16.1` or `24.8.1.2684`.
    pub fn from_version(version: &str) -> Flavor {
        let mut parts = version
            .trim()
            .split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let major = parts.next().unwrap_or(0);
        let minor = parts.next().unwrap_or(0);
        Flavor {
            datetime64: (major, minor) >= (21, 6),
        }
    }
}

/// A quoted identifier: `` `name` ``.
pub fn ident(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('`');
    for c in name.chars() {
        if c == '`' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('`');
    s
}

/// A quoted string literal: `'text'`.
pub fn literal(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 2);
    s.push('\'');
    for c in text.chars() {
        if c == '\'' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('\'');
    s
}

/// `db.table`, quoted.
pub fn qualified(db: &str, table: &str) -> String {
    format!("{}.{}", ident(db), ident(table))
}

/// How an Arrow type is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text or bytes: `String`.
    Str,
    /// `Boolean` as `UInt8` 0/1 (every version has it).
    Bool,
    /// A fixed-width number stored as the same ClickHouse type.
    Number(&'static str),
    /// Any timestamp: nanoseconds since the epoch, UTC.
    Timestamp,
    /// Anything else: its text form from Arrow's cast, as `String`.
    Text,
}

/// How `dt` is stored.
pub fn kind(dt: &DataType) -> Kind {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary => {
            Kind::Str
        }
        DataType::Boolean => Kind::Bool,
        DataType::Int8 => Kind::Number("Int8"),
        DataType::Int16 => Kind::Number("Int16"),
        DataType::Int32 => Kind::Number("Int32"),
        DataType::Int64 => Kind::Number("Int64"),
        DataType::UInt8 => Kind::Number("UInt8"),
        DataType::UInt16 => Kind::Number("UInt16"),
        DataType::UInt32 => Kind::Number("UInt32"),
        DataType::UInt64 => Kind::Number("UInt64"),
        DataType::Float32 => Kind::Number("Float32"),
        DataType::Float64 => Kind::Number("Float64"),
        DataType::Timestamp(_, _) => Kind::Timestamp,
        _ => Kind::Text,
    }
}

/// The ClickHouse type of a timestamp column.
fn timestamp_type(flavor: Flavor) -> &'static str {
    if flavor.datetime64 {
        "DateTime64(9, 'UTC')"
    } else {
        "UInt64"
    }
}

/// The ClickHouse type (without `Nullable`) a column of kind `k` gets.
pub fn base_type(k: Kind, flavor: Flavor) -> &'static str {
    match k {
        Kind::Str | Kind::Text => "String",
        Kind::Bool => "UInt8",
        Kind::Number(t) => t,
        Kind::Timestamp => timestamp_type(flavor),
    }
}

/// The UTC day of timestamp column `name`.
pub fn day_of(name: &str, flavor: Flavor) -> String {
    if flavor.datetime64 {
        format!("toDate({})", ident(name))
    } else {
        format!("toDate({})", seconds_of(name))
    }
}

fn seconds_of(name: &str) -> String {
    format!("toDateTime(intDiv({}, 1000000000), 'UTC')", ident(name))
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    /// Name.
    pub name: String,
    /// Full ClickHouse type.
    pub ty: String,
    /// `DEFAULT` expression (the readable DateTime next to a nanosecond column).
    pub default: Option<String>,
}

impl ColumnDef {
    fn sql(&self) -> String {
        match &self.default {
            Some(d) => format!("{} {} DEFAULT {d}", ident(&self.name), self.ty),
            None => format!("{} {}", ident(&self.name), self.ty),
        }
    }
}

/// The columns a field becomes: itself, plus `<name>_dt DateTime('UTC')`
/// next to a timestamp on servers without DateTime64.
pub fn columns_of(name: &str, dt: &DataType, nullable: bool, flavor: Flavor) -> Vec<ColumnDef> {
    let k = kind(dt);
    let wrap = |t: &str| {
        if nullable {
            format!("Nullable({t})")
        } else {
            t.to_string()
        }
    };
    let mut out = vec![ColumnDef {
        name: name.to_string(),
        ty: wrap(base_type(k, flavor)),
        default: None,
    }];
    if k == Kind::Timestamp && !flavor.datetime64 {
        out.push(ColumnDef {
            name: format!("{name}_dt"),
            ty: wrap("DateTime('UTC')"),
            default: Some(seconds_of(name)),
        });
    }
    out
}

/// How rows of a table are keyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// A category schema: keyed by its natural key, with a latest-value view.
    Category {
        /// Columns of one entity in the latest view: (source_system_name,) identifier.
        group_by: Vec<String>,
        /// The designated timestamp, when the schema has one.
        timestamp: Option<String>,
    },
    /// Anything else (rejects, raw categories): keyed by batch identity.
    Generic,
}

/// A table designed for a batch schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePlan {
    /// How rows are keyed.
    pub layout: Layout,
    /// Columns in order.
    pub columns: Vec<ColumnDef>,
    /// ORDER BY columns, which are also the dedup key.
    pub order_by: Vec<String>,
    /// PARTITION BY expression.
    pub partition_by: String,
}

/// The natural key of a category: its designated identifier and timestamp
/// and its unique key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// The designated identifier column.
    pub identifier: String,
    /// The designated timestamp column, if the category has one.
    pub timestamp: Option<String>,
    /// Columns whose values identify a row.
    pub unique_key: Vec<String>,
}

/// The keys of a batch: from its schema metadata (`qdp.identifier`,
/// `qdp.timestamp`, `qdp.unique_key`) or, when the metadata did not travel
/// with the batch (the C Data Interface carries field metadata only), from
/// the SDK's registry by category name. `None` for categories with neither
/// (rejects, raw categories).
pub fn keys(schema: &Schema, category: &str) -> Option<Keys> {
    let meta = schema.metadata();
    if let Some(identifier) = meta.get("qdp.identifier") {
        return Some(Keys {
            identifier: identifier.clone(),
            timestamp: meta.get("qdp.timestamp").cloned(),
            unique_key: meta
                .get("qdp.unique_key")
                .map(|u| u.split(',').map(|k| k.trim().to_string()).collect())
                .unwrap_or_default(),
        });
    }
    qdp_sdk::schema::registry().get(category).map(|c| Keys {
        identifier: c.identifier.clone(),
        timestamp: c.timestamp.clone(),
        unique_key: c.unique_key.clone(),
    })
}

/// Designs the table for batches of `schema` with natural key `keys`.
///
/// A category whose designated identifier is in the batch is keyed by
/// ORDER BY (source_system_name, identifier, timestamp, the rest of the
/// unique key), PARTITION BY the UTC day of the designated timestamp. A
/// category without a timestamp (reference data), or whose timestamp may
/// be null, is one partition (`tuple()`), so retention never drops it.
/// Anything else is keyed by batch identity and partitioned by the day it
/// was stored.
pub fn plan(schema: &Schema, keys: Option<&Keys>, flavor: Flavor) -> TablePlan {
    let has = |n: &str| schema.field_with_name(n).ok();
    let mut key: Vec<String> = Vec::new();
    let push = |k: &str, key: &mut Vec<String>| {
        if !key.iter().any(|x| x == k) {
            key.push(k.to_string());
        }
    };
    let (layout, partition_by) = match keys.filter(|k| has(&k.identifier).is_some()) {
        Some(keys) => {
            let ts = keys
                .timestamp
                .clone()
                .filter(|n| has(n).is_some_and(|f| kind(f.data_type()) == Kind::Timestamp));
            let mut group_by = Vec::new();
            if has("source_system_name").is_some() {
                push("source_system_name", &mut group_by);
            }
            push(&keys.identifier, &mut group_by);
            for k in &group_by {
                push(k, &mut key);
            }
            if let Some(t) = &ts {
                push(t, &mut key);
            }
            for k in &keys.unique_key {
                if has(k).is_some() {
                    push(k, &mut key);
                }
            }
            let partition = match &ts {
                Some(t) if has(t).is_some_and(|f| !f.is_nullable()) => day_of(t, flavor),
                _ => "tuple()".to_string(),
            };
            (
                Layout::Category {
                    group_by,
                    timestamp: ts,
                },
                partition,
            )
        }
        None => {
            for k in [ORIGIN, PRODUCER, SEQ, ROW] {
                push(k, &mut key);
            }
            (Layout::Generic, day_of(INGESTED, flavor))
        }
    };
    let mut columns = Vec::new();
    for f in schema.fields().iter().filter(|f| !is_reserved(f.name())) {
        let nullable = f.is_nullable() && !key.contains(f.name());
        columns.extend(columns_of(f.name(), f.data_type(), nullable, flavor));
    }
    columns.extend(columns_of(
        INGESTED,
        &DataType::Timestamp(
            qdp_sdk::arrow::datatypes::TimeUnit::Nanosecond,
            Some("UTC".into()),
        ),
        false,
        flavor,
    ));
    if layout == Layout::Generic {
        for (name, ty) in [
            (ORIGIN, "String"),
            (PRODUCER, "String"),
            (SEQ, "UInt64"),
            (ROW, "UInt32"),
        ] {
            columns.push(ColumnDef {
                name: name.into(),
                ty: ty.into(),
                default: None,
            });
        }
    }
    TablePlan {
        layout,
        columns,
        order_by: key,
        partition_by,
    }
}

/// `CREATE TABLE IF NOT EXISTS` for `plan`.
pub fn create_table(db: &str, table: &str, plan: &TablePlan) -> String {
    let cols: Vec<String> = plan.columns.iter().map(ColumnDef::sql).collect();
    let order: Vec<String> = plan.order_by.iter().map(|c| ident(c)).collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n  {}\n) ENGINE = ReplacingMergeTree({})\nPARTITION BY {}\nORDER BY ({})",
        qualified(db, table),
        cols.join(",\n  "),
        ident(INGESTED),
        plan.partition_by,
        order.join(", ")
    )
}

/// `ALTER TABLE ... ADD COLUMN` for a field the table lacks: always
/// Nullable, since the rows already stored have no value.
pub fn add_column(db: &str, table: &str, field: &Field, flavor: Flavor) -> String {
    let adds: Vec<String> = columns_of(field.name(), field.data_type(), true, flavor)
        .iter()
        .map(|c| format!("ADD COLUMN {}", c.sql()))
        .collect();
    format!("ALTER TABLE {} {}", qualified(db, table), adds.join(", "))
}

/// Name of the latest-value view of `table`.
pub fn view_name(table: &str) -> String {
    format!("{table}_latest")
}

/// The latest-value view: one row per entity (`group_by`) with every
/// column of its last row by the designated timestamp (ties, such as a
/// replayed row, go to the newest copy). `argMax` of one tuple keeps the
/// columns of one row together, and keeps NULLs (a bare `argMax` of a
/// Nullable column would skip them); it works on every version from 18.16.
/// Aliases are only used outside the aggregating subquery, because 18.16
/// substitutes an alias that shadows a column inside aggregates.
pub fn latest_view(
    db: &str,
    table: &str,
    columns: &[String],
    group_by: &[String],
    timestamp: Option<&str>,
) -> String {
    let cols: Vec<String> = columns.iter().map(|c| ident(c)).collect();
    let outer: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("__r.{} AS {}", i + 1, ident(c)))
        .collect();
    let by = match timestamp {
        Some(t) => format!("tuple({}, {})", ident(t), ident(INGESTED)),
        None => ident(INGESTED),
    };
    let group: Vec<String> = group_by.iter().map(|c| ident(c)).collect();
    format!(
        "CREATE VIEW IF NOT EXISTS {} AS SELECT {} FROM (SELECT argMax(tuple({}), {by}) AS __r FROM {} GROUP BY {})",
        qualified(db, &view_name(table)),
        outer.join(", "),
        cols.join(", "),
        qualified(db, table),
        group.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use qdp_sdk::schema::registry;

    fn plan_of(name: &str, flavor: Flavor) -> TablePlan {
        let s = registry()
            .get(name)
            .map(|s| s.arrow_schema())
            .unwrap_or_else(|| panic!("{name} is registered"));
        plan(&s, keys(&s, "").as_ref(), flavor)
    }

    fn tick_schema() -> std::sync::Arc<Schema> {
        registry()
            .get("derivatives_tick_market_data")
            .map(|s| s.arrow_schema())
            .unwrap_or_else(|| panic!("the tick schema is registered"))
    }

    #[test]
    fn versions() {
        assert!(!Flavor::from_version("18.16.1").datetime64);
        assert!(!Flavor::from_version("21.3.20.1").datetime64);
        assert!(Flavor::from_version("21.6.1").datetime64);
        assert!(Flavor::from_version("24.8.1").datetime64);
        assert!(!Flavor::from_version("garbage").datetime64);
    }

    #[test]
    fn modern_ddl_uses_datetime64() {
        let flavor = Flavor::from_version("24.8.1");
        let p = plan_of("derivatives_tick_market_data", flavor);
        let sql = create_table("qdp", "derivatives_tick_market_data", &p);
        assert!(sql.contains("`tick_time` DateTime64(9, 'UTC')"), "{sql}");
        assert!(
            sql.contains("`ingestion_time_realtime_store` DateTime64(9, 'UTC')"),
            "{sql}"
        );
        assert!(sql.contains("`open_interest` Nullable(Float64)"), "{sql}");
        assert!(sql.contains("`price` Float64,"), "{sql}");
        assert!(!sql.contains("_dt"), "{sql}");
        assert!(
            sql.contains("ENGINE = ReplacingMergeTree(`ingestion_time_realtime_store`)"),
            "{sql}"
        );
        assert!(sql.contains("PARTITION BY toDate(`tick_time`)"), "{sql}");
        assert!(
            sql.contains("ORDER BY (`source_system_name`, `symbol_code`, `tick_time`)"),
            "{sql}"
        );
    }

    #[test]
    fn old_ddl_uses_nanoseconds_and_a_datetime() {
        let p = plan_of(
            "derivatives_tick_market_data",
            Flavor::from_version("18.16.1"),
        );
        let sql = create_table("qdp", "t", &p);
        assert!(sql.contains("`tick_time` UInt64,"), "{sql}");
        assert!(
            sql.contains(
                "`tick_time_dt` DateTime('UTC') DEFAULT toDateTime(intDiv(`tick_time`, 1000000000), 'UTC')"
            ),
            "{sql}"
        );
        assert!(
            sql.contains("PARTITION BY toDate(toDateTime(intDiv(`tick_time`, 1000000000), 'UTC'))"),
            "{sql}"
        );
    }

    #[test]
    fn unique_key_extends_the_order_and_reference_data_is_one_partition() {
        let flavor = Flavor::from_version("18.16.1");
        let p = plan_of("numeric_economic_data", flavor);
        assert_eq!(
            p.order_by,
            [
                "source_system_name",
                "release_code",
                "release_time",
                "release_field"
            ]
        );
        let p = plan_of("derivative_symbols", flavor);
        assert_eq!(p.partition_by, "tuple()");
        assert_eq!(p.order_by, ["source_system_name", "symbol_code"]);
        // A nullable designated timestamp is part of the key, not of the partition.
        let p = plan_of("economic_data_releases", flavor);
        assert_eq!(p.partition_by, "tuple()");
        assert!(
            p.columns
                .iter()
                .any(|c| c.name == "release_time" && c.ty == "UInt64")
        );
    }

    #[test]
    fn keys_come_from_the_registry_when_metadata_is_lost() {
        let with = tick_schema();
        let without = Schema::new(with.fields().clone());
        assert_eq!(
            keys(&without, "derivatives_tick_market_data"),
            keys(&with, "anything")
        );
        assert_eq!(
            keys(&without, "derivatives_tick_market_data_unqualified"),
            None
        );
    }

    #[test]
    fn schemas_without_metadata_are_keyed_by_batch_identity() {
        let s = Schema::new(vec![
            Field::new("symbol", DataType::Utf8, true),
            Field::new("seq", DataType::UInt64, false),
        ]);
        let p = plan(
            &s,
            keys(&s, "raw_things").as_ref(),
            Flavor::from_version("24.8"),
        );
        assert_eq!(p.layout, Layout::Generic);
        assert_eq!(p.order_by, [ORIGIN, PRODUCER, SEQ, ROW]);
        assert_eq!(p.partition_by, "toDate(`ingestion_time_realtime_store`)");
        assert!(
            p.columns
                .iter()
                .any(|c| c.name == "symbol" && c.ty == "Nullable(String)")
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(ident("a`b"), "`a\\`b`");
        assert_eq!(literal("it's"), "'it\\'s'");
    }

    #[test]
    fn view_reads_one_row_per_entity() {
        let sql = latest_view(
            "qdp",
            "t",
            &["a".into(), "b".into()],
            &["a".into()],
            Some("b"),
        );
        assert_eq!(
            sql,
            "CREATE VIEW IF NOT EXISTS `qdp`.`t_latest` AS SELECT __r.1 AS `a`, __r.2 AS `b` FROM (SELECT argMax(tuple(`a`, `b`), tuple(`b`, `ingestion_time_realtime_store`)) AS __r FROM `qdp`.`t` GROUP BY `a`)"
        );
    }
}
