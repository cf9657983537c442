//! `[sinks.<id>.quality]`: the data-quality gates of the warehouse loads,
//! and their checks, done before anything runs so a misspelt field or a
//! ratio of 20 (meant as 20 %) is a config error naming the key.

use qdp_sdk::PluginError;
use qdp_sdk::schema::{CategorySchema, registry};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Options of the gates. Without any threshold every load is still
/// measured and recorded in `ops.load_quality`, and nothing is gated.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QualityOptions {
    /// Largest share of unqualified rows per load and category,
    /// `unqualified / (qualified + unqualified)`, from 0 to 1.
    pub max_unqualified_ratio: Option<f64>,
    /// Largest share of nulls per nullable category field among a load's
    /// qualified rows, e.g. `{ reference_period = 0.5 }`; applies to every
    /// category that has the field.
    #[serde(default)]
    pub max_null_ratio: BTreeMap<String, f64>,
    /// Ratios are checked only for loads of at least this many rows of the
    /// category (default 1), so a load of 3 rows with 1 reject can pass.
    pub ratio_min_rows: Option<u64>,
    /// Reject tables whose name is not `<category>_unqualified`, mapped to
    /// the category they count against, e.g.
    /// `{ cftc_cot_unqualified = "numeric_economic_data" }`.
    #[serde(default)]
    pub unqualified_of: BTreeMap<String, String>,
    /// Per-category thresholds that replace the ones above.
    #[serde(default)]
    pub categories: BTreeMap<String, CategoryGate>,
    /// Gold views (`"gold.<view>"`) measured after every gold refresh, with
    /// their thresholds (an empty table measures without gating).
    #[serde(default)]
    pub gold: BTreeMap<String, GoldGate>,
    /// Where a failed gate is POSTed as JSON (besides the error log line).
    /// Use the same URL as `[pipeline] alert_webhook`; empty means none.
    pub alert_webhook: Option<WebhookUrl>,
}

/// A webhook URL; often carries a token, so `Debug` prints `***`.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct WebhookUrl(pub String);

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Thresholds of one category.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryGate {
    /// Replaces `quality.max_unqualified_ratio` for this category.
    pub max_unqualified_ratio: Option<f64>,
    /// Per field; replaces the same field of `quality.max_null_ratio`.
    #[serde(default)]
    pub max_null_ratio: BTreeMap<String, f64>,
}

/// Thresholds of one gold view.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GoldGate {
    /// Fewest rows the view may have after a refresh.
    pub min_rows: Option<u64>,
    /// Largest share of nulls per column of the view.
    #[serde(default)]
    pub max_null_ratio: BTreeMap<String, f64>,
}

/// One gold view to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct GoldCheck {
    /// `schema.view` as configured.
    pub view: String,
    /// Schema part.
    pub schema: String,
    /// View part.
    pub name: String,
    /// Fewest rows.
    pub min_rows: Option<u64>,
    /// Column → largest null ratio.
    pub nulls: BTreeMap<String, f64>,
}

/// A threshold and the config key it came from (named in failures).
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// The largest ratio allowed.
    pub ratio: f64,
    /// e.g. `quality.categories.x.max_unqualified_ratio`.
    pub key: String,
}

/// The gates after their checks.
#[derive(Debug, Clone, Default)]
pub struct Gates {
    options: QualityOptions,
    /// Fewest rows of a category before its ratios are checked.
    pub ratio_min_rows: u64,
    /// Gold views to measure.
    pub gold: Vec<GoldCheck>,
    /// Alert webhook, checked to be an http(s) URL.
    pub alert_webhook: Option<WebhookUrl>,
}

impl Gates {
    /// The category an unqualified table's rows count against.
    pub fn unqualified_target(&self, table: &str) -> String {
        match self.options.unqualified_of.get(table) {
            Some(c) => c.clone(),
            None => table
                .strip_suffix("_unqualified")
                .unwrap_or(table)
                .to_string(),
        }
    }

    /// The unqualified-ratio limit of `category`.
    pub fn unqualified_limit(&self, category: &str) -> Option<Limit> {
        let own = self.options.categories.get(category);
        match own.and_then(|g| g.max_unqualified_ratio) {
            Some(ratio) => Some(Limit {
                ratio,
                key: format!("quality.categories.{category}.max_unqualified_ratio"),
            }),
            None => self.options.max_unqualified_ratio.map(|ratio| Limit {
                ratio,
                key: "quality.max_unqualified_ratio".into(),
            }),
        }
    }

    /// Field → null-ratio limit for `schema`: the category's own, else the
    /// general ones for the fields it has.
    pub fn null_limits(&self, schema: &CategorySchema) -> BTreeMap<String, Limit> {
        let mut out = BTreeMap::new();
        for (f, ratio) in &self.options.max_null_ratio {
            if schema.field(f).is_some_and(|s| s.nullable) {
                let key = format!("quality.max_null_ratio.{f}");
                out.insert(f.clone(), Limit { ratio: *ratio, key });
            }
        }
        if let Some(own) = self.options.categories.get(&schema.name) {
            for (f, ratio) in &own.max_null_ratio {
                let key = format!("quality.categories.{}.max_null_ratio.{f}", schema.name);
                out.insert(f.clone(), Limit { ratio: *ratio, key });
            }
        }
        out
    }
}

fn err(key: &str, problem: impl std::fmt::Display, fix: impl std::fmt::Display) -> PluginError {
    PluginError::config(format!("{key}: {problem}; {fix}"))
}

fn ratio(key: &str, v: f64) -> Result<f64, PluginError> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(err(
            key,
            format!("{v} is not a ratio"),
            "give a number from 0 (none allowed) to 1 (no limit), e.g. 0.2 for 20 %",
        ))
    }
}

fn nullable_names(schema: &CategorySchema) -> String {
    let names: Vec<&str> = schema
        .fields
        .iter()
        .filter(|f| f.nullable)
        .map(|f| f.name.as_str())
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn null_field(key: &str, schema: &CategorySchema, field: &str) -> Result<(), PluginError> {
    match schema.field(field) {
        Some(f) if f.nullable => Ok(()),
        Some(_) => Err(err(
            key,
            format!(
                "`{field}` is NOT NULL in category {}: a row without it is refused already",
                schema.name
            ),
            format!(
                "remove it; nullable fields of {}: {}",
                schema.name,
                nullable_names(schema)
            ),
        )),
        None => Err(err(
            key,
            format!("category {} has no field `{field}`", schema.name),
            format!("use one of its nullable fields: {}", nullable_names(schema)),
        )),
    }
}

fn category(key: &str, name: &str) -> Result<&'static CategorySchema, PluginError> {
    registry().get(name).ok_or_else(|| {
        err(
            key,
            format!("`{name}` is not a category schema"),
            format!("use one of: {}", registry().names().join(", ")),
        )
    })
}

fn gold_check(view: &str, g: &GoldGate) -> Result<GoldCheck, PluginError> {
    let key = format!("quality.gold.\"{view}\"");
    let Some((schema, name)) = view
        .split_once('.')
        .filter(|(s, n)| crate::ident::is_plain(s) && crate::ident::is_plain(n))
    else {
        return Err(err(
            &key,
            "not a view name",
            "write it as \"gold.<view>\" in lower case",
        ));
    };
    let mut nulls = BTreeMap::new();
    for (col, v) in &g.max_null_ratio {
        let k = format!("{key}.max_null_ratio.{col}");
        if !crate::ident::is_plain(col) {
            return Err(err(
                &k,
                "not a column name",
                "use the view's lower-case column name",
            ));
        }
        nulls.insert(col.clone(), ratio(&k, *v)?);
    }
    Ok(GoldCheck {
        view: view.to_string(),
        schema: schema.to_string(),
        name: name.to_string(),
        min_rows: g.min_rows,
        nulls,
    })
}

/// Checks `o`; `has_gold_sql` says whether `gold_sql_dir` is set.
pub fn check(o: QualityOptions, has_gold_sql: bool) -> Result<Gates, PluginError> {
    if let Some(v) = o.max_unqualified_ratio {
        ratio("quality.max_unqualified_ratio", v)?;
    }
    for (f, v) in &o.max_null_ratio {
        let key = format!("quality.max_null_ratio.{f}");
        ratio(&key, *v)?;
        let all = registry().all();
        let holders: Vec<&CategorySchema> = all.filter(|c| c.field(f).is_some()).collect();
        if holders.is_empty() {
            return Err(err(
                &key,
                format!("no category schema has a field `{f}`"),
                "check the spelling against `qdp schemas`, or set it per category under quality.categories.<category>",
            ));
        }
        if !holders
            .iter()
            .any(|c| c.field(f).is_some_and(|s| s.nullable))
        {
            return Err(err(
                &key,
                format!(
                    "`{f}` is NOT NULL in every category that has it: such rows are refused already"
                ),
                "remove it",
            ));
        }
    }
    for (c, g) in &o.categories {
        let schema = category(&format!("quality.categories.{c}"), c)?;
        if let Some(v) = g.max_unqualified_ratio {
            ratio(&format!("quality.categories.{c}.max_unqualified_ratio"), v)?;
        }
        for (f, v) in &g.max_null_ratio {
            let key = format!("quality.categories.{c}.max_null_ratio.{f}");
            ratio(&key, *v)?;
            null_field(&key, schema, f)?;
        }
    }
    for (table, c) in &o.unqualified_of {
        let key = format!("quality.unqualified_of.{table}");
        if !table.ends_with("_unqualified") || !crate::ident::is_plain(table) {
            return Err(err(
                &key,
                format!("`{table}` is not a reject category"),
                "name a `<something>_unqualified` category the sink receives",
            ));
        }
        category(&key, c)?;
    }
    let gold = o
        .gold
        .iter()
        .map(|(v, g)| gold_check(v, g))
        .collect::<Result<Vec<_>, _>>()?;
    if !gold.is_empty() && !has_gold_sql {
        return Err(err(
            "quality.gold",
            "gold views are measured after the gold SQL runs, and no gold_sql_dir is set",
            "set gold_sql_dir, or remove quality.gold",
        ));
    }
    // An empty URL (`"${QDP_ALERT_WEBHOOK:-}"` unset) means no webhook.
    let alert_webhook = match o.alert_webhook.as_ref().map(|u| u.0.trim()) {
        None | Some("") => None,
        Some(u) => match reqwest::Url::parse(u) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                Some(WebhookUrl(u.to_string()))
            }
            _ => {
                return Err(err(
                    "quality.alert_webhook",
                    "not an http(s) URL",
                    "give the full URL, e.g. https://hooks.example.com/qdp",
                ));
            }
        },
    };
    let ratio_min_rows = o.ratio_min_rows.unwrap_or(1).max(1);
    Ok(Gates {
        options: o,
        ratio_min_rows,
        gold,
        alert_webhook,
    })
}
