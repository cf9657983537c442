//! Writing the catalogue: `index.html` (static, self-contained),
//! `catalog.md`, `catalog.json` and `lineage.dot`.

pub mod dot;
pub mod html;
pub mod markdown;
pub mod svg;

use crate::error::CatalogError;
use crate::model::Catalog;
use std::path::{Path, PathBuf};

/// HTML-escapes `s`.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML anchor of a dataset id.
pub fn anchor(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("ds-{s}")
}

/// Writes the four files into `dir` (created if missing); returns their paths.
pub fn write_all(cat: &Catalog, dir: &Path) -> Result<Vec<PathBuf>, CatalogError> {
    let fail = |path: &Path, e: &dyn std::fmt::Display| CatalogError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, &e))?;
    let json = serde_json::to_string_pretty(cat).map_err(|e| fail(dir, &e))?;
    let files = [
        ("index.html", html::render(cat)),
        ("catalog.md", markdown::render(cat)),
        ("catalog.json", json),
        ("lineage.dot", dot::render(cat)),
    ];
    let mut out = Vec::new();
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| fail(&p, &e))?;
        out.push(p);
    }
    Ok(out)
}
