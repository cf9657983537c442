//! Category schemas (defined in the SDK, where plugins can read them too)
//! and their rendering for `qdp schemas`.

mod render;

pub use qdp_sdk::schema::*;
pub use render::{render_json, render_markdown};
