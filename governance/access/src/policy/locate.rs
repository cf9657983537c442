//! Line and column of a dotted key in the policy file, for error messages.

use qdp_core::config::{ConfigError, ConfigErrors, Loc};
use std::path::{Path, PathBuf};
use toml_edit::{Document, Item};

/// The parsed file with its spans.
pub struct Doc {
    file: PathBuf,
    text: String,
    doc: Document<String>,
}

impl Doc {
    /// Parses `text`; a syntax error names its position.
    pub fn parse(file: &Path, text: &str) -> Result<Self, ConfigErrors> {
        let doc = Document::parse(text.to_string()).map_err(|e| {
            let loc = Loc::at(file, text, e.span().map_or(0, |s| s.start));
            ConfigErrors(vec![ConfigError {
                loc,
                key: "(syntax)".into(),
                message: e.message().trim().to_string(),
                fix: "correct the TOML syntax at that position".into(),
            }])
        })?;
        Ok(Self {
            file: file.to_path_buf(),
            text: text.to_string(),
            doc,
        })
    }

    /// The policy file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The position of the deepest existing part of `path`
    /// (`["users", "alice", "teams"]`), or the file's start.
    pub fn loc(&self, path: &[&str]) -> Loc {
        let mut item: &Item = self.doc.as_item();
        let mut span = None;
        for part in path {
            let next = match item {
                Item::Table(t) => t.get_key_value(part).map(|(k, v)| (k.span(), Some(v))),
                Item::Value(toml_edit::Value::InlineTable(t)) => {
                    t.get_key_value(part).map(|(k, _)| (k.span(), None))
                }
                Item::ArrayOfTables(a) => part
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| a.get(i))
                    .map(|t| (t.span(), None)),
                _ => None,
            };
            let Some((s, v)) = next else { break };
            if let Some(s) = s {
                span = Some(s);
            }
            match v {
                Some(v) => item = v,
                None => break,
            }
        }
        Loc::at(&self.file, &self.text, span.map_or(0, |s| s.start))
    }
}
