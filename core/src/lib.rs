//! qdp core: category schemas, built-in transforms, pipeline config, plugin
//! host and the runtime that runs a pipeline in-process.
//!
//! Teams embed the runtime through [`Pipeline`] (from a file, a TOML string
//! or a [`PipelineBuilder`]) and register their own components, which
//! implement the same [`qdp_sdk`] traits as plugins, on a [`Registry`].

pub mod admin;
pub mod buffer;
pub mod component;
pub mod config;
pub mod lineage;
pub mod metrics;
pub mod pipeline;
pub mod plan;
pub mod post;
pub mod reconcile;
pub mod registry;
pub mod runtime;
pub mod schedule;
pub mod schema;
pub mod transforms;

pub use metrics::Metrics;
pub use pipeline::{Error, Pipeline, PipelineBuilder};
pub use qdp_sdk;
pub use registry::Registry;
pub use runtime::RunReport;
