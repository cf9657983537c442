//! A throwaway `clickhouse-server`.

use crate::process::{find_program, free_port, kill, tail, wait_listening};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// A ClickHouse server on ephemeral ports with its data in a temp dir.
pub struct ClickHouse {
    program: PathBuf,
    child: Option<Child>,
    dir: TempDir,
    http_port: u16,
}

impl ClickHouse {
    /// Starts a server, or returns `None` (after printing why) when
    /// `clickhouse-server` is not installed and services are not required.
    pub fn start() -> Option<Self> {
        let Some(program) = find_program(
            "QDP_CLICKHOUSE_SERVER",
            &["clickhouse-server"],
            &[PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")],
        ) else {
            return crate::missing("ClickHouse", "clickhouse-server is not on PATH");
        };
        let dir = tempfile::Builder::new()
            .prefix("qdp-clickhouse-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let http_port = free_port();
        let tcp_port = free_port();
        let root = dir.path().display().to_string();
        let config = format!(
            r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{root}/server.log</log><errorlog>{root}/error.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>{http_port}</http_port>
  <tcp_port>{tcp_port}</tcp_port>
  <path>{root}/data/</path>
  <tmp_path>{root}/tmp/</tmp_path>
  <user_files_path>{root}/user_files/</user_files_path>
  <format_schema_path>{root}/format_schemas/</format_schema_path>
  <users_config>{root}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <query_log><database>system</database><table>query_log</table><flush_interval_milliseconds>7500</flush_interval_milliseconds></query_log>
</yandex>
"#
        );
        let users = r#"<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>::/0</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
"#;
        let write = |name: &str, text: &str| {
            std::fs::write(dir.path().join(name), text)
                .unwrap_or_else(|e| panic!("cannot write {name}: {e}"))
        };
        write("config.xml", &config);
        write("users.xml", users);
        let mut ch = Self {
            program,
            child: None,
            dir,
            http_port,
        };
        ch.restart();
        Some(ch)
    }

    /// The server's process id while it runs (benchmarks read its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(std::process::Child::id)
    }

    /// The HTTP endpoint, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The `users.d` directory next to `users.xml` (created on first call):
    /// the server merges every `*.xml` in it into its users and reloads
    /// them by itself when a file there changes.
    pub fn users_dir(&self) -> PathBuf {
        let dir = self.dir.path().join("users.d");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create users.d: {e}"));
        dir
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill(&mut c);
        }
    }

    /// Starts the server again on the same ports and data, and waits until
    /// it answers queries.
    pub fn restart(&mut self) {
        self.kill();
        let config = self.dir.path().join("config.xml");
        let log = self.dir.path().join("stdout.log");
        let out = std::fs::File::create(&log).unwrap_or_else(|e| panic!("log file: {e}"));
        let err = out.try_clone().unwrap_or_else(|e| panic!("log file: {e}"));
        let mut child = Command::new(&self.program)
            .arg(format!("--config-file={}", config.display()))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.program.display()));
        wait_listening(
            &mut child,
            self.http_port,
            &self.dir.path().join("error.log"),
            "clickhouse-server",
        );
        self.child = Some(child);
        // Listening comes before the server answers queries.
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.query("SELECT 1").map(|s| s.trim().to_string()) != Ok("1".into()) {
            assert!(
                Instant::now() < deadline,
                "clickhouse-server does not answer queries; its log:\n{}",
                tail(&self.dir.path().join("error.log"))
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's version string, e.g. `18.16.1`.
    pub fn version(&self) -> String {
        self.query("SELECT version()")
            .unwrap_or_else(|e| panic!("version(): {e}"))
            .trim()
            .to_string()
    }

    /// Runs one statement over HTTP and returns the response body
    /// (TabSeparated unless the query says otherwise), or the server's error.
    pub fn query(&self, sql: &str) -> Result<String, String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.http_port)).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| e.to_string())?;
        let req = format!(
            "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{sql}",
            sql.len()
        );
        s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).map_err(|e| e.to_string())?;
        let resp = String::from_utf8_lossy(&resp).into_owned();
        let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
        if head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200") {
            Ok(body.to_string())
        } else {
            Err(format!("{}: {body}", head.lines().next().unwrap_or("")))
        }
    }
}

impl Drop for ClickHouse {
    fn drop(&mut self) {
        self.kill();
    }
}
