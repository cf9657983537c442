//! Reading pipeline files for the catalogue: parsed like `qdp validate`
//! parses them, but without the environment. A `${NAME}` that has no
//! default is kept as written (the catalogue describes the file, not one
//! deployment), `${NAME:-default}` shows its default, and `${file:PATH}`
//! is never opened: it is a secret's location, kept as written.

use crate::error::CatalogError;
use qdp_core::config::{PipelineConfig, parse_pipeline};
use std::path::Path;

/// Parses `path` without reading the environment or secret files.
pub fn read_pipeline(path: &Path) -> Result<PipelineConfig, CatalogError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CatalogError::Pipeline(format!(
            "{}: cannot read the pipeline file: {e} (fix: check the path)",
            path.display()
        ))
    })?;
    parse_pipeline(path, &keep_references(&text), &|_| None)
        .map_err(|e| CatalogError::Pipeline(e.to_string()))
}

/// Rewrites `text` so interpolation keeps `${NAME}` and `${file:PATH}`
/// literally (as `$${...}`, the interpolation's escape) and resolves only
/// `${NAME:-default}`, to its default.
pub fn keep_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push_str("$$");
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            match body.find('}') {
                Some(end) if body[..end].contains(":-") && !body.starts_with("file:") => {
                    out.push_str("${");
                }
                Some(_) => out.push_str("$${"),
                // Unclosed: left for the parser to report.
                None => out.push_str("${"),
            }
            rest = body;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_references_are_kept_and_defaults_used() {
        let text = r#"
[pipeline]
name = "p"
data_dir = "${QDP_DATA_DIR:-.qdp/p}"
[sources.a]
type = "eia"
api_key = "${EIA_API_KEY}"
token = "${file:/run/secrets/t}"
price = "$$5"
"#;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        std::fs::write(&f, text).unwrap();
        let cfg = read_pipeline(&f).unwrap();
        assert_eq!(cfg.data_dir, std::path::PathBuf::from(".qdp/p"));
        let o = &cfg.components[0].options;
        assert_eq!(o["api_key"], "${EIA_API_KEY}");
        assert_eq!(o["token"], "${file:/run/secrets/t}");
        assert_eq!(o["price"], "$5");
    }
}
