//! Iceberg table files in an S3-compatible bucket, through `object_store`
//! (the client the `lake` sink uses), plugged into the iceberg crate's
//! storage trait. A file up to 16 MiB goes up in one PUT, a larger one as a
//! multipart upload; either is visible only once complete, and only a
//! committed snapshot references it.

use crate::config::S3Options;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use iceberg::io::{
    FileMetadata, FileRead, FileWrite, InputFile, OutputFile, Storage, StorageConfig,
    StorageFactory,
};
use iceberg::{Error, ErrorKind};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

/// The bucket of the warehouse and how to reach it (the `s3` options).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    pub o: S3Options,
}

impl S3Settings {
    /// The client; credentials not given come from the `AWS_*` variables.
    pub fn client(&self) -> Result<AmazonS3, String> {
        let o = &self.o;
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&self.bucket)
            .with_region(o.region.as_deref().unwrap_or("us-east-1"))
            .with_allow_http(o.allow_http);
        if let Some(e) = &o.endpoint {
            if e.starts_with("http://") && !o.allow_http {
                return Err(format!(
                    "s3.endpoint `{e}` is plain http: set s3.allow_http = true for a local S3 server"
                ));
            }
            b = b.with_endpoint(e);
        }
        if let Some(k) = &o.access_key_id {
            b = b.with_access_key_id(k);
        }
        if let Some(s) = &o.secret_access_key {
            b = b.with_secret_access_key(s);
        }
        b.build()
            .map_err(|e| format!("s3 client for bucket `{}`: {e}", self.bucket))
    }
}

/// Builds [`S3Storage`] for a catalog's FileIO.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct S3StorageFactory(pub S3Settings);

#[typetag::serde]
impl StorageFactory for S3StorageFactory {
    fn build(&self, _config: &StorageConfig) -> iceberg::Result<Arc<dyn Storage>> {
        Ok(Arc::new(S3Storage {
            s: self.0.clone(),
            store: OnceLock::new(),
        }))
    }
}

/// The storage: `s3://<bucket>/<key>` paths onto one bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct S3Storage {
    s: S3Settings,
    #[serde(skip)]
    store: OnceLock<Arc<AmazonS3>>,
}

fn err(what: &str, path: &str, e: impl fmt::Display) -> Error {
    Error::new(ErrorKind::Unexpected, format!("{what} {path}: {e}"))
}

impl S3Storage {
    fn store(&self) -> iceberg::Result<Arc<AmazonS3>> {
        if let Some(s) = self.store.get() {
            return Ok(s.clone());
        }
        let client = Arc::new(
            self.s
                .client()
                .map_err(|e| Error::new(ErrorKind::DataInvalid, e))?,
        );
        Ok(self.store.get_or_init(|| client).clone())
    }

    /// `s3://bucket/a/b` (or `s3a://`) → key `a/b`; another bucket is an error.
    fn key(&self, path: &str) -> iceberg::Result<Path> {
        let rest = path
            .strip_prefix("s3://")
            .or_else(|| path.strip_prefix("s3a://"))
            .ok_or_else(|| err("not an s3:// path:", path, "expected s3://bucket/key"))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket != self.s.bucket {
            return Err(err(
                "path outside the warehouse bucket:",
                path,
                &self.s.bucket,
            ));
        }
        Path::parse(key).map_err(|e| err("invalid key", path, e))
    }
}

#[async_trait]
#[typetag::serde]
impl Storage for S3Storage {
    async fn exists(&self, path: &str) -> iceberg::Result<bool> {
        match self.store()?.head(&self.key(path)?).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(err("head", path, e)),
        }
    }

    async fn metadata(&self, path: &str) -> iceberg::Result<FileMetadata> {
        let m = self
            .store()?
            .head(&self.key(path)?)
            .await
            .map_err(|e| err("head", path, e))?;
        Ok(FileMetadata { size: m.size })
    }

    async fn read(&self, path: &str) -> iceberg::Result<Bytes> {
        self.store()?
            .get(&self.key(path)?)
            .await
            .map_err(|e| err("get", path, e))?
            .bytes()
            .await
            .map_err(|e| err("read", path, e))
    }

    async fn reader(&self, path: &str) -> iceberg::Result<Box<dyn FileRead>> {
        Ok(Box::new(S3Read {
            store: self.store()?,
            key: self.key(path)?,
            path: path.to_string(),
        }))
    }

    async fn write(&self, path: &str, bs: Bytes) -> iceberg::Result<()> {
        self.store()?
            .put(&self.key(path)?, PutPayload::from(bs))
            .await
            .map(drop)
            .map_err(|e| err("put", path, e))
    }

    async fn writer(&self, path: &str) -> iceberg::Result<Box<dyn FileWrite>> {
        Ok(Box::new(S3Write {
            store: self.store()?,
            key: self.key(path)?,
            path: path.to_string(),
            buf: Vec::new(),
            upload: None,
            closed: false,
        }))
    }

    async fn delete(&self, path: &str) -> iceberg::Result<()> {
        match self.store()?.delete(&self.key(path)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(err("delete", path, e)),
        }
    }

    async fn delete_prefix(&self, path: &str) -> iceberg::Result<()> {
        let store = self.store()?;
        let prefix = self.key(path)?;
        let mut listed = store.list(Some(&prefix));
        while let Some(m) = listed.next().await {
            let m = m.map_err(|e| err("list", path, e))?;
            store
                .delete(&m.location)
                .await
                .map_err(|e| err("delete", m.location.as_ref(), e))?;
        }
        Ok(())
    }

    async fn delete_stream(&self, mut paths: BoxStream<'static, String>) -> iceberg::Result<()> {
        while let Some(p) = paths.next().await {
            self.delete(&p).await?;
        }
        Ok(())
    }

    fn new_input(&self, path: &str) -> iceberg::Result<InputFile> {
        Ok(InputFile::new(Arc::new(self.clone()), path.to_string()))
    }

    fn new_output(&self, path: &str) -> iceberg::Result<OutputFile> {
        Ok(OutputFile::new(Arc::new(self.clone()), path.to_string()))
    }
}

struct S3Read {
    store: Arc<AmazonS3>,
    key: Path,
    path: String,
}

#[async_trait]
impl FileRead for S3Read {
    async fn read(&self, range: Range<u64>) -> iceberg::Result<Bytes> {
        self.store
            .get_range(&self.key, range)
            .await
            .map_err(|e| err("read range of", &self.path, e))
    }
}

/// Below this a file goes up in one PUT; above, as a multipart upload.
const MULTIPART_FROM: usize = 16 << 20;

struct S3Write {
    store: Arc<AmazonS3>,
    key: Path,
    path: String,
    /// Bytes not handed to an upload yet.
    buf: Vec<u8>,
    upload: Option<WriteMultipart>,
    closed: bool,
}

#[async_trait]
impl FileWrite for S3Write {
    async fn write(&mut self, bs: Bytes) -> iceberg::Result<()> {
        if self.closed {
            return Err(err("write after close:", &self.path, "closed"));
        }
        if let Some(up) = self.upload.as_mut() {
            up.wait_for_capacity(8)
                .await
                .map_err(|e| err("upload of", &self.path, e))?;
            up.write(&bs);
            return Ok(());
        }
        self.buf.extend_from_slice(&bs);
        if self.buf.len() >= MULTIPART_FROM {
            let upload = self
                .store
                .put_multipart(&self.key)
                .await
                .map_err(|e| err("start upload of", &self.path, e))?;
            let mut up = WriteMultipart::new(upload);
            up.write(&std::mem::take(&mut self.buf));
            self.upload = Some(up);
        }
        Ok(())
    }

    async fn close(&mut self) -> iceberg::Result<()> {
        if std::mem::replace(&mut self.closed, true) {
            return Err(err("close twice:", &self.path, "closed"));
        }
        match self.upload.take() {
            Some(up) => up
                .finish()
                .await
                .map(drop)
                .map_err(|e| err("complete upload of", &self.path, e)),
            None => self
                .store
                .put(&self.key, PutPayload::from(std::mem::take(&mut self.buf)))
                .await
                .map(drop)
                .map_err(|e| err("put", &self.path, e)),
        }
    }
}
