//! Category schemas: canonical, versioned Arrow schemas loaded from the data
//! files in `core/schemas/` (embedded in the binary), with a glossary for
//! every field and the constraints `validate` enforces.

mod model;
mod registry;
mod render;

pub use model::{CategorySchema, FieldSpec, LogicalType, unqualified_category};
pub use registry::{SchemaRegistry, registry};
pub use render::{render_json, render_markdown};
