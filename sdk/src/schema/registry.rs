//! The embedded category schemas, parsed once.

use super::model::CategorySchema;
use std::sync::LazyLock;

const FILES: &[(&str, &str)] = &[
    (
        "derivatives_tick_market_data.v1.toml",
        include_str!("../../schemas/derivatives_tick_market_data.v1.toml"),
    ),
    (
        "derivatives_l2_market_data.v1.toml",
        include_str!("../../schemas/derivatives_l2_market_data.v1.toml"),
    ),
    (
        "indicators_market_data.v1.toml",
        include_str!("../../schemas/indicators_market_data.v1.toml"),
    ),
    (
        "numeric_economic_data.v1.toml",
        include_str!("../../schemas/numeric_economic_data.v1.toml"),
    ),
    (
        "derivative_symbols.v1.toml",
        include_str!("../../schemas/derivative_symbols.v1.toml"),
    ),
    (
        "economic_data_releases.v1.toml",
        include_str!("../../schemas/economic_data_releases.v1.toml"),
    ),
    (
        "client_accounts.v1.toml",
        include_str!("../../schemas/client_accounts.v1.toml"),
    ),
];

/// All category schemas known to this build.
pub struct SchemaRegistry {
    schemas: Vec<CategorySchema>,
    /// Files that failed to parse (a unit test keeps this empty).
    pub errors: Vec<String>,
}

impl SchemaRegistry {
    /// A schema by name.
    pub fn get(&self, name: &str) -> Option<&CategorySchema> {
        self.schemas.iter().find(|s| s.name == name)
    }

    /// Every schema.
    pub fn all(&self) -> impl Iterator<Item = &CategorySchema> {
        self.schemas.iter()
    }

    /// Every schema name.
    pub fn names(&self) -> Vec<&str> {
        self.schemas.iter().map(|s| s.name.as_str()).collect()
    }
}

static REGISTRY: LazyLock<SchemaRegistry> = LazyLock::new(|| {
    let mut schemas = Vec::new();
    let mut errors = Vec::new();
    for (file, text) in FILES {
        match toml_edit::de::from_str::<CategorySchema>(text) {
            Ok(s) => match s.check() {
                Ok(()) => schemas.push(s),
                Err(e) => errors.push(format!("{file}: {e}")),
            },
            Err(e) => errors.push(format!("{file}: {e}")),
        }
    }
    SchemaRegistry { schemas, errors }
});

/// The category schemas.
pub fn registry() -> &'static SchemaRegistry {
    &REGISTRY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_loads_and_is_consistent() {
        let r = registry();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.all().count(), FILES.len());
        for s in r.all() {
            assert!(s.owner.is_some(), "{} has no owner", s.name);
            assert!(s.freshness_sla.is_some(), "{} has no freshness SLA", s.name);
        }
        let clients = r.get("client_accounts").unwrap();
        let pii: Vec<&str> = clients.pii_fields().map(|f| f.name.as_str()).collect();
        assert_eq!(pii, ["contact_name", "contact_email"]);
        assert_eq!(
            clients.classification_of(clients.field("client_name").unwrap()),
            crate::schema::Classification::Confidential
        );
        let tick = r.get("derivatives_tick_market_data").unwrap();
        assert_eq!(tick.identifier, "symbol_code");
        assert_eq!(tick.timestamp.as_deref(), Some("tick_time"));
        let arrow = tick.arrow_schema();
        assert!(!arrow.field_with_name("price").unwrap().is_nullable());
        assert!(
            arrow
                .field_with_name("open_interest")
                .unwrap()
                .is_nullable()
        );
        let rej = tick.unqualified_schema();
        assert_eq!(rej.fields().len(), tick.fields.len() + 1);
    }

    #[test]
    fn a_field_may_not_lower_its_schema_classification() {
        let text = FILES[FILES.len() - 1]
            .1
            .replace("classification = \"pii\"", "classification = \"public\"");
        let schema: CategorySchema = toml_edit::de::from_str(&text).unwrap();
        let err = schema.check().unwrap_err();
        assert!(err.contains("classified below its schema"), "{err}");
    }
}
