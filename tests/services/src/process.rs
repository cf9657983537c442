//! Child processes, ports and readiness.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bound, then released for the service).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
}

/// Finds a program: an explicit env override, then `extra` paths, then PATH.
pub fn find_program(env: &str, names: &[&str], extra: &[PathBuf]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = extra
        .iter()
        .cloned()
        .chain(std::env::split_paths(&path))
        .collect();
    for dir in dirs {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// `$HOME/.cache/qdp-tools/bin`, where `scripts/services.sh` installs tools.
pub fn tools_bin() -> PathBuf {
    tools_dir().join("bin")
}

/// Where `scripts/services.sh install` puts the tools it builds or
/// installs: `$HOME/.cache/qdp-tools`.
pub fn tools_dir() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache").join("qdp-tools")
}

/// Waits until `port` accepts connections or the child exits.
pub fn wait_listening(child: &mut Child, port: u16, log: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}) before listening on {port}; its log:\n{}",
                tail(log)
            );
        }
        assert!(
            Instant::now() < deadline,
            "{what} is not listening on {port} after 60 s; its log:\n{}",
            tail(log)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last lines of a log file, for failure messages.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Kills a child and reaps it.
pub fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
