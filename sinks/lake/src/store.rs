//! Where the lake's objects go: a local directory or an S3 bucket.

use crate::config::{LakeOptions, Location};
use crate::local::LocalLake;
use crate::s3::S3Lake;
use qdp_sdk::{PluginError, Result};

/// What a put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The object was new and is now durable.
    Created,
    /// An object of the same size was already there; nothing was written.
    Existed,
}

/// The lake's backend.
#[derive(Debug)]
pub enum Store {
    /// A local directory.
    Local(LocalLake),
    /// An S3-compatible bucket.
    S3(S3Lake),
}

impl Store {
    /// Builds the backend from options without touching the network.
    pub fn new(o: &LakeOptions) -> Result<Self> {
        match o.location().map_err(PluginError::config)? {
            Location::Local(root) => {
                if o.endpoint.is_some()
                    || o.access_key_id.is_some()
                    || o.secret_access_key.is_some()
                {
                    return Err(PluginError::config(
                        "endpoint and credentials apply to s3:// urls only",
                    ));
                }
                Ok(Store::Local(LocalLake::new(root)))
            }
            Location::S3 { bucket, prefix } => Ok(Store::S3(S3Lake::new(o, &bucket, prefix)?)),
        }
    }

    /// Prepares the destination (creates the local root directory).
    pub fn open(&self) -> Result<()> {
        match self {
            Store::Local(l) => l.open(),
            Store::S3(_) => Ok(()),
        }
    }

    /// Writes `bytes` at `key` under the lake's root, once.
    pub async fn put(&self, key: &str, bytes: &[u8]) -> Result<Written> {
        check_key(key)?;
        match self {
            Store::Local(l) => l.put(key, bytes),
            Store::S3(s) => s.put(key, bytes).await,
        }
    }
}

/// A key made by `raw::lake_path` from a source's system name: refuse one
/// that could climb out of the lake or hide as a dot file.
fn check_key(key: &str) -> Result<()> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key
            .split('/')
            .any(|p| p.is_empty() || p.starts_with('.') || p.contains('\\'));
    if bad {
        return Err(PluginError::internal(format!(
            "raw object path `{key}` is not a plain relative path (check the source system name)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_lake() {
        assert!(check_key("eia/2026/05/06/ab.json").is_ok());
        for bad in ["", "/abs/x", "../x/y", "a//b", "a/./b", "a\\b/c"] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }
}
