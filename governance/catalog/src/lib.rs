//! The data catalogue and its lineage, built from schemas and pipeline files.
//!
//! [`build`] reads the category schemas, every pipeline file (parsed, never
//! run: no plugin is instantiated, no environment variable or secret file
//! is read), the components' declared field dictionaries and the gold SQL,
//! and returns a [`Catalog`]: datasets with fields, owners, classification
//! and freshness, the source → category field dictionary, and the lineage
//! graph from source systems to gold views. [`render::write_all`] writes it
//! as `index.html`, `catalog.md`, `catalog.json` and `lineage.dot`;
//! [`postgres::load`] as tables in a `catalog` schema.
//!
//! [`datasets`] names what each sink type writes for each category; the
//! runtime's lineage events use the same functions.

mod build;
mod classify;
pub mod datasets;
pub mod dictionary;
mod error;
pub mod flow;
pub mod gold;
pub mod graph;
pub mod load;
pub mod model;
pub mod postgres;
pub mod redact;
pub mod render;
pub mod sources;

pub use build::{Sources, build};
pub use error::CatalogError;
pub use model::Catalog;
