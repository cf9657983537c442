//! The `qdp run` process under test: started, killed with SIGKILL, started
//! again, and stopped with SIGTERM at the end; its log appended to one file.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The running lane.
pub struct Child {
    proc: std::process::Child,
    pipeline: PathBuf,
    clock: PathBuf,
    log: PathBuf,
    /// Exits nobody asked for (each one started again).
    pub unexpected_exits: usize,
}

fn spawn(pipeline: &Path, clock: &Path, log: &Path) -> Result<std::process::Child, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    Command::new(exe)
        .arg("run")
        .arg(pipeline)
        .arg("--fast-forward")
        .arg(clock)
        .env(
            "RUST_LOG",
            std::env::var("QDP_BENCH_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start qdp run: {e}"))
}

impl Child {
    /// Starts `qdp run PIPELINE --fast-forward CLOCK`.
    pub fn start(pipeline: &Path, clock: &Path, log: &Path) -> Result<Self, String> {
        Ok(Self {
            proc: spawn(pipeline, clock, log)?,
            pipeline: pipeline.to_path_buf(),
            clock: clock.to_path_buf(),
            log: log.to_path_buf(),
            unexpected_exits: 0,
        })
    }

    fn respawn(&mut self) -> Result<(), String> {
        self.proc = spawn(&self.pipeline, &self.clock, &self.log)?;
        Ok(())
    }

    /// SIGKILL, then a new process on the same state.
    pub fn kill_and_restart(&mut self) -> Result<(), String> {
        self.proc.kill().map_err(|e| format!("kill: {e}"))?;
        self.proc.wait().map_err(|e| format!("wait: {e}"))?;
        self.respawn()
    }

    /// Starts the lane again if it exited on its own.
    pub fn restart_if_exited(&mut self) -> Result<(), String> {
        if let Some(status) = self.proc.try_wait().map_err(|e| e.to_string())? {
            self.unexpected_exits += 1;
            eprintln!(
                "macro: qdp run exited on its own ({status}); starting it again. Last lines:\n{}",
                self.log_tail(20)
            );
            self.respawn()?;
        }
        Ok(())
    }

    /// SIGTERM, and SIGKILL if it has not drained after 30 s.
    pub fn stop(&mut self) -> Result<(), String> {
        let pid = self.proc.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.proc.try_wait().map_err(|e| e.to_string())?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.proc.kill();
        self.proc.wait().map(|_| ()).map_err(|e| e.to_string())
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if matches!(self.proc.try_wait(), Ok(None)) {
            let _ = self.proc.kill();
            let _ = self.proc.wait();
        }
    }
}
