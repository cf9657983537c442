//! The source → category field dictionary a component declares: for each
//! category field it fills, where in the source system the value comes
//! from. The data catalogue prints it per source, so an analyst can trace
//! `release_field_value` back to the publisher's own column name.

use serde::{Deserialize, Serialize};

/// How one category field of one output is filled from the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSource {
    /// The category the field belongs to, e.g. `numeric_economic_data`.
    pub category: String,
    /// The category field, e.g. `release_field_value`.
    pub field: String,
    /// Where the value comes from in the source's own terms, e.g.
    /// "API v2 response `value`" or "constant `EIA`".
    pub from: String,
    /// Conversion, unit or caveat worth knowing, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl FieldSource {
    /// A field read from a named source element.
    pub fn new(category: &str, field: &str, from: impl Into<String>) -> Self {
        Self {
            category: category.to_string(),
            field: field.to_string(),
            from: from.into(),
            note: None,
        }
    }

    /// The same with a note.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// Fields qdp fills itself for every row, so a dictionary need not declare
/// them (`source_system_name` comes from configuration but may be declared).
pub const FILLED_BY_QDP: [&str; 3] = [
    "source_system_name",
    "component_instance_name",
    "ingestion_time",
];

/// Checks a dictionary against the category schemas: every entry names a
/// registered category and one of its fields, no (category, field) is
/// declared twice, and every non-nullable field of each category it
/// mentions is declared, except [`FILLED_BY_QDP`]. Returns every problem
/// found, one line each; connectors call it from a unit test.
pub fn check(entries: &[FieldSource]) -> Result<(), Vec<String>> {
    let registry = crate::schema::registry();
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for e in entries {
        let Some(schema) = registry.get(&e.category) else {
            problems.push(format!("`{}` is not a category schema", e.category));
            continue;
        };
        if schema.field(&e.field).is_none() {
            problems.push(format!("`{}` has no field `{}`", e.category, e.field));
        }
        if !seen.insert((e.category.as_str(), e.field.as_str())) {
            problems.push(format!("`{}.{}` is declared twice", e.category, e.field));
        }
        if e.from.trim().is_empty() {
            problems.push(format!(
                "`{}.{}` says nothing in `from`",
                e.category, e.field
            ));
        }
    }
    let categories: std::collections::BTreeSet<&str> =
        entries.iter().map(|e| e.category.as_str()).collect();
    for schema in categories.into_iter().filter_map(|c| registry.get(c)) {
        for f in schema.fields.iter().filter(|f| !f.nullable) {
            let filled = FILLED_BY_QDP.contains(&f.name.as_str());
            if !filled && !seen.contains(&(schema.name.as_str(), f.name.as_str())) {
                problems.push(format!(
                    "`{}.{}` is not nullable but the dictionary does not say where it comes from",
                    schema.name, f.name
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_releases() -> Vec<FieldSource> {
        [
            "publisher_code",
            "release_code",
            "release_frequency",
            "release_content",
        ]
        .into_iter()
        .map(|f| FieldSource::new("economic_data_releases", f, "somewhere"))
        .collect()
    }

    #[test]
    fn a_complete_dictionary_passes_and_an_empty_one_has_nothing_to_check() {
        assert_eq!(check(&full_releases()), Ok(()));
        assert_eq!(check(&[]), Ok(()));
    }

    #[test]
    fn unknown_names_duplicates_and_gaps_are_each_reported() {
        let mut d = full_releases();
        d.push(FieldSource::new(
            "economic_data_releases",
            "release_code",
            "again",
        ));
        d.push(FieldSource::new("economic_data_releases", "colour", "x"));
        d.push(FieldSource::new("no_such_category", "x", "x"));
        d.retain(|e| e.field != "release_content");
        let problems = check(&d).unwrap_err();
        let has = |s: &str| problems.iter().any(|p| p.contains(s));
        assert!(
            has("`economic_data_releases.release_code` is declared twice"),
            "{problems:?}"
        );
        assert!(has("has no field `colour`"), "{problems:?}");
        assert!(
            has("`no_such_category` is not a category schema"),
            "{problems:?}"
        );
        assert!(
            has("`economic_data_releases.release_content` is not nullable"),
            "{problems:?}"
        );
        assert_eq!(problems.len(), 4, "{problems:?}");
    }

    #[test]
    fn a_dictionary_survives_its_json_form() {
        let d = vec![FieldSource::new("c", "f", "from").note("ms epoch → ns")];
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Vec<FieldSource>>(&json).unwrap(), d);
        let bare: Vec<FieldSource> =
            serde_json::from_str(r#"[{"category":"c","field":"f","from":"x"}]"#).unwrap();
        assert_eq!(bare[0].note, None);
    }
}
