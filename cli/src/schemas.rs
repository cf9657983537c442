//! `qdp schemas [NAME] [--format md|json]`.

/// Lists schemas, or prints one.
pub fn main(name: Option<&str>, format: &str) -> Result<(), String> {
    let _ = (name, format);
    Err("schemas: pending".into())
}
