//! Options of the `lake` sink.

use serde::Deserialize;
use std::fmt;

/// Options of `lake`.
///
/// Credentials are written as `${ENV}` in the pipeline file; `Debug` hides
/// them so they never reach a log.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LakeOptions {
    /// Where the lake lives: `file:///var/lib/qdp/lake` or `s3://bucket/prefix`.
    pub url: String,
    /// S3 endpoint for a non-AWS store (`http://127.0.0.1:9000`); AWS when absent.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// S3 region (default `us-east-1`).
    #[serde(default)]
    pub region: Option<String>,
    /// S3 access key id; from the environment (`AWS_ACCESS_KEY_ID`) when absent.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// S3 secret access key; from the environment when absent. Never logged.
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// Allow plain `http://` endpoints (a local S3 server). Default false.
    #[serde(default)]
    pub allow_http: bool,
}

impl fmt::Debug for LakeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "***");
        f.debug_struct("LakeOptions")
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &hidden(&self.access_key_id))
            .field("secret_access_key", &hidden(&self.secret_access_key))
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// Where the objects go, parsed from `url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A directory on the local file system.
    Local(std::path::PathBuf),
    /// A bucket and a key prefix (no leading or trailing `/`, may be empty).
    S3 { bucket: String, prefix: String },
}

impl LakeOptions {
    /// Parses `url`; the error says what forms are accepted.
    pub fn location(&self) -> Result<Location, String> {
        if let Some(path) = self.url.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "url `{}`: a file:// url needs an absolute path, e.g. file:///var/lib/qdp/lake",
                    self.url
                ));
            }
            return Ok(Location::Local(path.into()));
        }
        if let Some(rest) = self.url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("url `{}` names no bucket", self.url));
            }
            return Ok(Location::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        Err(format!(
            "url `{}` must be file:///absolute/path or s3://bucket/prefix",
            self.url
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn opts(url: &str) -> LakeOptions {
        LakeOptions {
            url: url.into(),
            endpoint: None,
            region: None,
            access_key_id: Some("AKID".into()),
            secret_access_key: Some("hunter2".into()),
            allow_http: false,
        }
    }

    #[test]
    fn urls_parse_and_bad_ones_say_why() {
        assert_eq!(
            opts("file:///var/lake").location().unwrap(),
            Location::Local("/var/lake".into())
        );
        assert_eq!(
            opts("s3://b/raw/lake/").location().unwrap(),
            Location::S3 {
                bucket: "b".into(),
                prefix: "raw/lake".into()
            }
        );
        assert_eq!(
            opts("s3://b").location().unwrap(),
            Location::S3 {
                bucket: "b".into(),
                prefix: String::new()
            }
        );
        for bad in ["file://rel/path", "s3:///x", "/var/lake", "gs://b"] {
            assert!(opts(bad).location().is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_hides_credentials() {
        let shown = format!("{:?}", opts("s3://b"));
        assert!(
            !shown.contains("hunter2") && !shown.contains("AKID"),
            "{shown}"
        );
    }
}
