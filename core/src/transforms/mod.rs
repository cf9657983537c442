//! Built-in transforms: `map` (raw rows onto a category schema), `validate`
//! (category constraints) and `enrich` (metadata columns). They implement
//! the same [`qdp_sdk::Transform`] trait as plugins and are linked into core.
//!
//! Rows that fail go to the `unqualified` port as `<category>_unqualified`
//! rows ([`reject`]): every value kept as text, with the reason. None is
//! dropped.

mod convert;
pub mod enrich;
pub mod map;
mod reject;
pub mod validate;

use crate::registry::Registry;

/// Names of the built-in transforms.
pub fn builtin_transform_names() -> &'static [&'static str] {
    &["map", "validate", "enrich"]
}

/// Registers the built-in transforms.
pub fn register_builtins(r: &mut Registry) {
    r.builtin_transform::<map::Map>();
    r.builtin_transform::<validate::Validate>();
    r.builtin_transform::<enrich::Enrich>();
}

/// The category schema named `name`, or a config error listing the known ones.
pub(crate) fn category(name: &str) -> qdp_sdk::Result<&'static crate::schema::CategorySchema> {
    crate::schema::registry().get(name).ok_or_else(|| {
        qdp_sdk::PluginError::config(format!(
            "unknown category `{name}` (known: {})",
            crate::schema::registry().names().join(", ")
        ))
    })
}

/// Now, as UTC nanoseconds.
pub(crate) fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
}
