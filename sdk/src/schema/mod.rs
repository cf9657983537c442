//! Category schemas: canonical, versioned Arrow schemas loaded from the data
//! files in `sdk/schemas/` (embedded at compile time), with a glossary for
//! every field and the constraints `validate` enforces.
//!
//! They live in the SDK because plugins need them too: a Kafka sink keys
//! messages by the designated identifier, a ClickHouse sink orders its
//! tables by it. The Arrow schema of a category carries these facts in its
//! metadata (`qdp.category`, `qdp.identifier`, `qdp.timestamp`,
//! `qdp.unique_key`), so a sink can read them off any batch.

mod model;
mod registry;

pub use model::{CategorySchema, Classification, FieldSpec, LogicalType, unqualified_category};
pub use registry::{SchemaRegistry, registry};
