//! A throwaway S3-compatible server: s3s-fs on a temp directory.
//!
//! s3s-fs 0.14.1 is started as
//! `s3s-fs --host 127.0.0.1 --port PORT --access-key K --secret-key S ROOT`.
//! A bucket is a directory under ROOT, so [`S3::create_bucket`] makes one
//! directly, and a test may look at the stored files under [`S3::root`].
//! Requests are signed (SigV4) with the generated credentials, so a client
//! that gets them wrong fails as it would against a real store.

use crate::process::{find_program, free_port, kill, tools_bin, wait_listening};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use tempfile::TempDir;

/// An s3s-fs server on an ephemeral port, its data in a temp dir.
pub struct S3 {
    program: PathBuf,
    child: Option<Child>,
    dir: TempDir,
    port: u16,
    secret: String,
}

impl S3 {
    /// Starts a server, or returns `None` (after printing why) when s3s-fs
    /// is not installed and services are not required.
    pub fn start() -> Option<Self> {
        let Some(program) = find_program("QDP_S3S_FS", &["s3s-fs"], &[tools_bin()]) else {
            return crate::missing("S3 (s3s-fs)", "s3s-fs is not installed");
        };
        let dir = tempfile::Builder::new()
            .prefix("qdp-s3-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        std::fs::create_dir(dir.path().join("data"))
            .unwrap_or_else(|e| panic!("cannot create the S3 data dir: {e}"));
        // Not a real secret: unique per server so a test cannot pass on a
        // hard-coded key.
        let secret = format!("qdp-test-secret-{}-{}", std::process::id(), free_port());
        let mut s = Self {
            program,
            child: None,
            dir,
            port: free_port(),
            secret,
        };
        s.restart();
        Some(s)
    }

    /// The endpoint URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The access key id the server accepts.
    pub fn access_key_id(&self) -> &str {
        "qdp-test"
    }

    /// The secret access key the server accepts.
    pub fn secret_access_key(&self) -> &str {
        &self.secret
    }

    /// A region name for clients that need one (the server ignores it).
    pub fn region(&self) -> &str {
        "us-east-1"
    }

    /// The directory holding the buckets (one sub-directory each).
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Creates bucket `name` (idempotent) and returns its directory.
    pub fn create_bucket(&self, name: &str) -> PathBuf {
        assert!(
            !name.is_empty() && !name.contains('/') && !name.starts_with('.'),
            "`{name}` is not a bucket name"
        );
        let path = self.root().join(name);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create bucket {}: {e}", path.display()));
        path
    }

    /// The stored objects of `bucket` as keys (`a/b/c.csv`), sorted,
    /// leaving out the server's own hidden files.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let base = self.root().join(bucket);
        let mut out = Vec::new();
        collect(&base, &base, &mut out);
        out.sort();
        out
    }

    /// The end of the server's log, and whether it is running.
    pub fn log_tail(&mut self) -> String {
        let alive = match self.child.as_mut().map(|c| c.try_wait()) {
            Some(Ok(None)) => "running".to_string(),
            Some(Ok(Some(status))) => format!("exited ({status})"),
            Some(Err(e)) => format!("unknown ({e})"),
            None => "not started".to_string(),
        };
        format!(
            "s3s-fs {alive}; its log:\n{}",
            crate::process::tail(&self.dir.path().join("s3s-fs.log"))
        )
    }

    /// Kills the server with SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill(&mut c);
        }
    }

    /// Starts the server again on the same port and data.
    pub fn restart(&mut self) {
        self.kill();
        let log = self.dir.path().join("s3s-fs.log");
        let out = std::fs::File::create(&log).unwrap_or_else(|e| panic!("log file: {e}"));
        let err = out.try_clone().unwrap_or_else(|e| panic!("log file: {e}"));
        let mut child = Command::new(&self.program)
            .arg("--host=127.0.0.1")
            .arg(format!("--port={}", self.port))
            .arg(format!("--access-key={}", self.access_key_id()))
            .arg(format!("--secret-key={}", self.secret))
            .arg(self.root())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.program.display()));
        wait_listening(&mut child, self.port, &log, "s3s-fs");
        self.child = Some(child);
    }
}

fn collect(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            collect(base, &p, out);
        } else if let Ok(rel) = p.strip_prefix(base) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        self.kill();
    }
}
