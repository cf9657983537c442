//! Gold datasets from the warehouse's SQL folder: every `create [or replace]
//! [materialized] view|table schema.name` statement, the schema-qualified
//! relations it reads after `from` and `join` (CTE names are unqualified,
//! so they are not taken for tables), the column names of its outer select
//! list, and the comment above it as its description. A small, honest
//! reader of references, not a SQL engine: a relation named without its
//! schema, or reached through a function, is not seen.

use crate::error::CatalogError;
use std::path::Path;

/// One view or table the gold SQL creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoldRelation {
    /// `schema.name`, lower-case.
    pub name: String,
    /// `view`, `materialized view` or `table`.
    pub kind: String,
    /// The file it is created in.
    pub file: String,
    /// The comment lines just above the statement.
    pub description: String,
    /// Schema-qualified relations it reads, in order of first mention.
    pub reads: Vec<String>,
    /// Columns of its outer select list (aliases, or the plain column named).
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Text,
    Punct(char),
}

/// Reads every `*.sql` file of `dir` in name order.
pub fn read_dir(dir: &Path) -> Result<Vec<GoldRelation>, CatalogError> {
    let err = |e: std::io::Error| CatalogError::GoldSql {
        path: dir.to_path_buf(),
        message: e.to_string(),
    };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(err)?;
        let name = f
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        out.extend(parse(&text, &name));
    }
    Ok(out)
}

/// The relations created in one SQL text.
pub fn parse(text: &str, file: &str) -> Vec<GoldRelation> {
    let mut out = Vec::new();
    let (mut toks, mut comments) = (Vec::new(), Vec::new());
    for (t, c) in tokens(text) {
        match t {
            Some(Tok::Punct(';')) => {
                out.extend(statement(&toks, &comments, file));
                toks.clear();
                comments.clear();
            }
            Some(t) => toks.push(t),
            None if toks.is_empty() => comments.push(c),
            None => {}
        }
    }
    out.extend(statement(&toks, &comments, file));
    out
}

fn word(t: Option<&Tok>) -> Option<&str> {
    match t {
        Some(Tok::Word(w)) => Some(w.as_str()),
        _ => None,
    }
}

fn statement(t: &[Tok], comments: &[String], file: &str) -> Option<GoldRelation> {
    let mut i = 0;
    let w = |i: usize| word(t.get(i));
    if w(i)? != "create" {
        return None;
    }
    i += 1;
    if w(i) == Some("or") && w(i + 1) == Some("replace") {
        i += 2;
    }
    let mut kind = String::new();
    if w(i) == Some("materialized") {
        kind.push_str("materialized ");
        i += 1;
    }
    match w(i)? {
        k @ ("view" | "table") => kind.push_str(k),
        _ => return None,
    }
    i += 1;
    if w(i) == Some("if") {
        i += 3;
    }
    let name = w(i)?.to_string();
    let reads = references(&t[i + 1..]);
    // The body starts after the `as` that follows the name and its options.
    let mut j = i + 1;
    let mut depth = 0;
    while j < t.len() && !(depth == 0 && w(j) == Some("as")) {
        match t[j] {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ => {}
        }
        j += 1;
    }
    Some(GoldRelation {
        name,
        kind,
        file: file.to_string(),
        description: comments.join(" "),
        reads,
        columns: outer_columns(t.get(j + 1..).unwrap_or_default()),
    })
}

fn references(t: &[Tok]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // Per open parenthesis: whether it is a function's argument list, where
    // `from` is an argument keyword (`extract(year from t)`), not a relation.
    let mut call: Vec<bool> = Vec::new();
    for (k, tok) in t.iter().enumerate() {
        match tok {
            Tok::Punct('(') => {
                let after_name = k > 0
                    && word(t.get(k - 1)).is_some_and(|w| {
                        !is_keyword(w) && !matches!(w, "as" | "from" | "in" | "exists" | "lateral")
                    });
                let subquery = matches!(word(t.get(k + 1)), Some("select" | "with" | "values"));
                call.push(after_name && !subquery);
            }
            Tok::Punct(')') => {
                call.pop();
            }
            _ => {}
        }
        let in_call = call.last().copied().unwrap_or(false);
        let distinct_from = k > 0 && word(t.get(k - 1)) == Some("distinct");
        if !in_call && !distinct_from && matches!(word(Some(tok)), Some("from" | "join")) {
            let mut m = k + 1;
            // `from a.x, b.y`: a list of relations.
            while let Some(name) = word(t.get(m)) {
                if name.contains('.') && !out.iter().any(|o| o == name) {
                    out.push(name.to_string());
                }
                // Skip an alias, then continue only after a comma.
                let mut n = m + 1;
                if word(t.get(n)).is_some_and(|a| !is_keyword(a)) {
                    n += 1;
                }
                if t.get(n) == Some(&Tok::Punct(','))
                    && word(t.get(n + 1)).is_some_and(|x| x.contains('.'))
                {
                    m = n + 1;
                } else {
                    break;
                }
            }
        }
    }
    out
}

fn is_keyword(w: &str) -> bool {
    matches!(
        w,
        "on" | "where"
            | "join"
            | "left"
            | "right"
            | "inner"
            | "full"
            | "cross"
            | "group"
            | "order"
            | "union"
            | "window"
            | "limit"
            | "using"
            | "natural"
            | "having"
    )
}

/// Column names of the outer select of a view body.
fn outer_columns(t: &[Tok]) -> Vec<String> {
    let mut i = 0;
    if word(t.first()) == Some("with") {
        // Skip `name [(cols)] as [not] [materialized] ( ... )` items.
        i = 1;
        let mut depth = 0;
        while i < t.len() {
            match &t[i] {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => depth -= 1,
                Tok::Word(w) if depth == 0 && w == "select" => break,
                _ => {}
            }
            i += 1;
        }
    }
    if word(t.get(i)) != Some("select") {
        return Vec::new();
    }
    i += 1;
    if word(t.get(i)) == Some("distinct") {
        i += 1;
        if word(t.get(i)) == Some("on") {
            i = skip_parens(t, i + 1);
        }
    }
    let mut items: Vec<Vec<&Tok>> = vec![Vec::new()];
    let mut depth = 0;
    for tok in &t[i.min(t.len())..] {
        match tok {
            Tok::Word(w) if depth == 0 && w == "from" => break,
            Tok::Punct(',') if depth == 0 => items.push(Vec::new()),
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ => {}
        }
        if !(depth == 0 && *tok == Tok::Punct(','))
            && let Some(last) = items.last_mut()
        {
            last.push(tok);
        }
    }
    items
        .iter()
        .filter_map(|it| match it.as_slice() {
            [.., Tok::Word(a), Tok::Word(name)] if a == "as" => Some(name.clone()),
            [Tok::Word(col)] => Some(col.rsplit('.').next().unwrap_or(col).to_string()),
            _ => None,
        })
        .collect()
}

fn skip_parens(t: &[Tok], mut i: usize) -> usize {
    let mut depth = 0;
    while i < t.len() {
        match t[i] {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// Tokens, each with `None` and the text for a comment line.
fn tokens(text: &str) -> Vec<(Option<Tok>, String)> {
    let b: Vec<char> = text.chars().collect();
    let mut out: Vec<(Option<Tok>, String)> = Vec::new();
    let mut i = 0;
    let until = |from: usize, pat: &str| -> usize {
        let p: Vec<char> = pat.chars().collect();
        (from..b.len())
            .find(|&k| b[k..].starts_with(&p))
            .map_or(b.len(), |k| k + p.len())
    };
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if b[i..].starts_with(&['-', '-']) {
            let end = until(i, "\n");
            let line: String = b[i + 2..end].iter().collect();
            out.push((None, line.trim().to_string()));
            i = end;
        } else if b[i..].starts_with(&['/', '*']) {
            i = until(i + 2, "*/");
        } else if c == '\'' {
            let mut k = i + 1;
            while k < b.len() && !(b[k] == '\'' && b.get(k + 1) != Some(&'\'')) {
                k += if b[k] == '\'' { 2 } else { 1 };
            }
            out.push((Some(Tok::Text), String::new()));
            i = k + 1;
        } else if c == '$' {
            let close = (i + 1..b.len()).find(|&k| b[k] == '$').unwrap_or(b.len());
            let tag: String = b[i..=close.min(b.len() - 1)].iter().collect();
            i = until(close + 1, &tag);
            out.push((Some(Tok::Text), String::new()));
        } else if c.is_alphanumeric() || c == '_' || c == '"' {
            let mut k = i;
            let mut w = String::new();
            while k < b.len()
                && (b[k].is_alphanumeric() || b[k] == '_' || b[k] == '"' || b[k] == '.')
            {
                if b[k] != '"' {
                    w.push(b[k].to_ascii_lowercase());
                }
                k += 1;
            }
            out.push((Some(Tok::Word(w)), String::new()));
            i = k;
        } else {
            out.push((Some(Tok::Punct(c)), String::new()));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_their_sources_and_columns() {
        let sql = "-- Clients.\n-- One row each.\ncreate or replace view gold.dim_client with (security_invoker = true) as
select client_code, c.client_name, upper(x) as country, 'a;b' as t from silver.client_accounts c;
create function gold.f() returns int language sql as $$ select 1 from silver.nope $$;
create view gold.x as with a as (select * from silver.numeric_economic_data n), b(v) as (select 1)
select distinct on (k) a.k, sum(v) total, extract(year from x.t) y from a join gold.dim_client d on x.a is distinct from y.b, b
left join \"silver\".\"economic_data_releases\" e on true;";
        let r = parse(sql, "60.sql");
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(r[0].name, "gold.dim_client");
        assert_eq!(r[0].description, "Clients. One row each.");
        assert_eq!(r[0].reads, vec!["silver.client_accounts"]);
        assert_eq!(
            r[0].columns,
            vec!["client_code", "client_name", "country", "t"]
        );
        assert_eq!(r[1].name, "gold.x");
        assert_eq!(
            r[1].reads,
            vec![
                "silver.numeric_economic_data",
                "gold.dim_client",
                "silver.economic_data_releases"
            ]
        );
        assert_eq!(r[1].columns, vec!["k"]);
    }

    #[test]
    fn the_example_warehouse_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/warehouse");
        let r = read_dir(&dir).unwrap();
        let fact = r
            .iter()
            .find(|g| g.name == "gold.fact_economic_release")
            .unwrap();
        assert_eq!(
            fact.reads,
            vec!["silver.numeric_economic_data", "gold.dim_release"]
        );
        assert!(
            fact.columns.contains(&"value_in_base_unit".to_string()),
            "{:?}",
            fact.columns
        );
        assert!(r.iter().all(|g| !g.reads.is_empty()), "{r:?}");
        let reads: Vec<&String> = r.iter().flat_map(|g| &g.reads).collect();
        assert!(
            reads
                .iter()
                .all(|x| x.starts_with("silver.") || x.starts_with("gold.")),
            "{reads:?}"
        );
    }
}
