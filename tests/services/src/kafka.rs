//! A throwaway Kafka-protocol broker: tansu with SQLite storage.
//!
//! tansu 0.6.0 is started as
//! `tansu broker --cluster-id=qdp-test --listener-url=tcp://127.0.0.1:PORT
//! --advertised-listener-url=tcp://127.0.0.1:PORT --storage-engine=sqlite://tansu.db`
//! in the temp dir (the SQLite path of the URL is relative to the working
//! directory: `sqlite:///abs/path` is read as a relative path too).

use crate::process::{find_program, free_port, kill, tools_bin, wait_listening};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use tempfile::TempDir;

/// A tansu broker on an ephemeral port, its SQLite file in a temp dir.
pub struct Kafka {
    program: PathBuf,
    child: Option<Child>,
    dir: TempDir,
    port: u16,
}

impl Kafka {
    /// Starts a broker, or returns `None` (after printing why) when tansu is
    /// not installed and services are not required.
    pub fn start() -> Option<Self> {
        let Some(program) = find_program("QDP_TANSU", &["tansu"], &[tools_bin()]) else {
            return crate::missing("Kafka (tansu)", "tansu is not installed");
        };
        let dir = tempfile::Builder::new()
            .prefix("qdp-kafka-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let mut k = Self {
            program,
            child: None,
            dir,
            port: free_port(),
        };
        k.restart();
        Some(k)
    }

    /// The server's process id while it runs (benchmarks read its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(std::process::Child::id)
    }

    /// The bootstrap address, `127.0.0.1:PORT`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The end of the broker's log, and whether it is still running, for
    /// failure messages.
    pub fn log_tail(&mut self) -> String {
        let alive = match self.child.as_mut().map(|c| c.try_wait()) {
            Some(Ok(None)) => "running".to_string(),
            Some(Ok(Some(status))) => format!("exited ({status})"),
            Some(Err(e)) => format!("unknown ({e})"),
            None => "not started".to_string(),
        };
        format!(
            "tansu {alive}; its log:\n{}",
            crate::process::tail(&self.dir.path().join("tansu.log"))
        )
    }

    /// Kills the broker with SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill(&mut c);
        }
    }

    /// Starts the broker again on the same port and storage.
    pub fn restart(&mut self) {
        self.kill();
        let log = self.dir.path().join("tansu.log");
        let out = std::fs::File::create(&log).unwrap_or_else(|e| panic!("log file: {e}"));
        let err = out.try_clone().unwrap_or_else(|e| panic!("log file: {e}"));
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let mut child = Command::new(&self.program)
            .arg("broker")
            .arg("--cluster-id=qdp-test")
            .arg(format!("--listener-url={url}"))
            .arg(format!("--advertised-listener-url={url}"))
            // tansu resolves the database path against its working directory.
            .arg("--storage-engine=sqlite://tansu.db")
            .current_dir(self.dir.path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.program.display()));
        wait_listening(&mut child, self.port, &log, "tansu");
        self.child = Some(child);
    }
}

impl Drop for Kafka {
    fn drop(&mut self) {
        self.kill();
    }
}
