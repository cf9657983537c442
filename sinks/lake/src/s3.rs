//! The lake in an S3-compatible bucket through `object_store`.
//!
//! A put is conditional (`If-None-Match: *`, `PutMode::Create`) so an
//! object that exists is never replaced; a HEAD first spares the upload on a
//! replay, and also keeps the lake immutable on a server that ignores the
//! condition. An object that exists counts as written when its size matches.

use crate::config::LakeOptions;
use crate::store::Written;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use qdp_sdk::{PluginError, Result};

/// A bucket and a key prefix.
#[derive(Debug)]
pub struct S3Lake {
    store: AmazonS3,
    bucket: String,
    prefix: String,
}

impl S3Lake {
    /// Configures the client; credentials not given come from the usual
    /// `AWS_*` environment variables.
    pub fn new(o: &LakeOptions, bucket: &str, prefix: String) -> Result<Self> {
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_region(o.region.clone().unwrap_or_else(|| "us-east-1".into()))
            .with_allow_http(o.allow_http);
        if let Some(e) = &o.endpoint {
            if e.starts_with("http://") && !o.allow_http {
                return Err(PluginError::config(format!(
                    "endpoint `{e}` is plain http: set allow_http = true for a local S3 server"
                )));
            }
            b = b.with_endpoint(e.clone());
        }
        if let Some(k) = &o.access_key_id {
            b = b.with_access_key_id(k.clone());
        }
        if let Some(s) = &o.secret_access_key {
            b = b.with_secret_access_key(s.clone());
        }
        let store = b
            .build()
            .map_err(|e| PluginError::config(format!("s3 client for bucket `{bucket}`: {e}")))?;
        Ok(Self {
            store,
            bucket: bucket.to_string(),
            prefix,
        })
    }

    fn path(&self, key: &str) -> Result<Path> {
        let full = if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        };
        Path::parse(&full)
            .map_err(|e| PluginError::internal(format!("lake key `{full}` is not valid: {e}")))
    }

    /// Writes `bytes` at `key` unless an object of the same size is there.
    pub async fn put(&self, key: &str, bytes: &[u8]) -> Result<Written> {
        let path = self.path(key)?;
        if let Some(w) = self.existing(&path, bytes.len() as u64).await? {
            return Ok(w);
        }
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let payload = PutPayload::from(bytes.to_vec());
        match self.store.put_opts(&path, payload, opts).await {
            Ok(_) => Ok(Written::Created),
            Err(object_store::Error::AlreadyExists { .. }) => self
                .existing(&path, bytes.len() as u64)
                .await?
                .ok_or_else(|| self.error(&path, "put", "reported existing, then not found")),
            Err(e) => Err(self.error(&path, "put", e)),
        }
    }

    /// `Some(Existed)` for an object of `size` bytes, `None` for none.
    async fn existing(&self, path: &Path, size: u64) -> Result<Option<Written>> {
        match self.store.head(path).await {
            Ok(meta) if meta.size == size => Ok(Some(Written::Existed)),
            Ok(meta) => Err(PluginError::external(format!(
                "lake object s3://{}/{path} exists with {} bytes, expected {size}: the lake is immutable, so it is left as it is",
                self.bucket, meta.size
            ))
            .retryable(false)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(path, "head", e)),
        }
    }

    fn error(&self, path: &Path, op: &str, e: impl std::fmt::Display) -> PluginError {
        PluginError::external(format!("lake: s3 {op} s3://{}/{path}: {e}", self.bucket))
    }
}
