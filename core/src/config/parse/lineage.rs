//! `[pipeline.lineage]`: where OpenLineage run events go, checked before
//! anything runs.

use super::Parser;
use crate::config::model::{LineageConfig, LineageTarget};
use std::path::PathBuf;
use toml_edit::Table;

impl Parser<'_> {
    /// `[pipeline.lineage]`: `url` or `file`, and an optional `namespace`.
    pub(super) fn lineage(&mut self, pipeline: &Table) -> Option<LineageConfig> {
        let t = self.table(pipeline, "lineage", "pipeline")?;
        let t = &*t;
        self.unknown_keys(t, "pipeline.lineage", &["url", "file", "namespace"]);
        let url = self.string(t, "url", "pipeline.lineage");
        let file = self.string(t, "file", "pipeline.lineage");
        let namespace = self
            .string(t, "namespace", "pipeline.lineage")
            .unwrap_or_else(|| "qdp".to_string());
        let target = match (url, file) {
            (Some(u), None) => {
                if !reqwest::Url::parse(&u)
                    .is_ok_and(|x| x.scheme() == "http" || x.scheme() == "https")
                {
                    let loc = self.key_loc(t, "url");
                    self.error(
                        loc,
                        "pipeline.lineage.url",
                        "not an http:// or https:// URL",
                        "write the full URL events are POSTed to, e.g. \"http://marquez:5000/api/v1/lineage\"",
                    );
                    return None;
                }
                LineageTarget::Http(u)
            }
            (None, Some(f)) => LineageTarget::File(PathBuf::from(f)),
            (u, _) => {
                let loc = self.key_loc(t, if u.is_some() { "file" } else { "url" });
                self.error(
                    loc,
                    "pipeline.lineage",
                    "needs exactly one of `url` and `file`",
                    "set `url = \"http://…/api/v1/lineage\"` or `file = \"lineage.ndjson\"`",
                );
                return None;
            }
        };
        Some(LineageConfig { target, namespace })
    }
}
