//! qdp core: category schemas, built-in transforms, pipeline config, plugin
//! host and the runtime that runs a pipeline in-process.

pub mod schema;
pub mod transforms;
