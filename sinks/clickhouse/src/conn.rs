//! The HTTP connection: statements, small TabSeparated results and RowBinary
//! inserts through the `clickhouse` crate, with errors classified for the
//! runtime (retry or not) and never carrying the password.

use crate::config::Checked;
use bytes::Bytes;
use clickhouse::insert_formatted::InsertFormatted;
use clickhouse::{Client, Compression, error::Error};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use qdp_sdk::{PluginError, Result};
use std::time::Duration;

/// An INSERT in progress; dropped without [`Insert::end`], it is aborted.
pub struct Insert<'c> {
    conn: &'c Conn,
    table: &'c str,
    inner: InsertFormatted,
}

impl Insert<'_> {
    /// Sends one chunk of the body.
    pub async fn send(&mut self, chunk: Vec<u8>) -> Result<()> {
        self.inner
            .send(Bytes::from(chunk))
            .await
            .map_err(|e| self.conn.error(e, Some(self.table)))
    }

    /// Finishes the body; `Ok` once the server has committed the rows.
    pub async fn end(self) -> Result<()> {
        let (conn, table) = (self.conn, self.table);
        self.inner
            .end()
            .await
            .map_err(|e| conn.error(e, Some(table)))
    }
}

/// Server error codes worth retrying: the server is busy, short of
/// memory, overloaded with parts, or lost a connection mid-statement.
const TRANSIENT: &[u32] = &[
    3,   // UNEXPECTED_END_OF_FILE
    159, // TIMEOUT_EXCEEDED
    160, // TOO_SLOW
    164, // READONLY (a replica catching up)
    202, // TOO_MANY_SIMULTANEOUS_QUERIES
    209, // SOCKET_TIMEOUT
    210, // NETWORK_ERROR
    241, // MEMORY_LIMIT_EXCEEDED
    242, // TABLE_IS_READ_ONLY
    252, // TOO_MANY_PARTS
    319, // UNKNOWN_STATUS_OF_INSERT
    425, // SYSTEM_ERROR
    473, // DEADLOCK_AVOIDED
    999, // KEEPER_EXCEPTION
];

/// Code that means "already there" for a column being added.
pub const DUPLICATE_COLUMN: u32 = 15;

/// A connection to one server.
pub struct Conn {
    client: Client,
    url: String,
    timeout: Duration,
    /// Scrubbed from error text, should anything ever echo it.
    password: Option<String>,
}

impl Conn {
    /// A client for the options; connects lazily, on the first request.
    pub fn new(c: &Checked) -> Conn {
        // The crate's default HTTP client plus TCP_NODELAY: without it the
        // last small chunk of an INSERT body waits for the server's delayed
        // ACK (Nagle), ~40 ms per INSERT.
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_keepalive(Some(Duration::from_secs(60)));
        http.enforce_http(false);
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            // Below the server's 3 s keep-alive, so a pooled connection is
            // not reused just as the server closes it.
            .pool_idle_timeout(Duration::from_secs(2))
            .build(hyper_tls::HttpsConnector::new_with_connector(http));
        let mut client = Client::with_http_client(http)
            .with_url(c.o.url.trim())
            .with_compression(Compression::Lz4)
            .with_validation(false);
        if let Some(user) = &c.o.user {
            client = client.with_user(user);
        }
        if let Some(password) = &c.o.password {
            client = client.with_password(&password.0);
        }
        for (k, v) in &c.o.settings {
            client = client.with_setting(k, v.to_string());
        }
        Conn {
            client,
            url: c.o.url.trim().to_string(),
            timeout: c.insert_timeout,
            password: c
                .o
                .password
                .as_ref()
                .map(|p| p.0.clone())
                .filter(|p| !p.is_empty()),
        }
    }

    /// The server URL (it never holds credentials: the options refuse them).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs a statement that returns nothing.
    pub async fn execute(&self, sql: &str, table: Option<&str>) -> Result<()> {
        let q = self.client.query_raw(sql).execute();
        match tokio::time::timeout(self.timeout, q).await {
            Ok(r) => r.map_err(|e| self.error(e, table)),
            Err(_) => Err(self.timed_out(table)),
        }
    }

    /// Runs a query and returns its TabSeparated rows, unescaped.
    pub async fn rows(&self, sql: &str) -> Result<Vec<Vec<String>>> {
        let fetch = async {
            let mut cursor = self.client.query_raw(sql).fetch_bytes("TabSeparated")?;
            cursor.collect().await
        };
        let body = match tokio::time::timeout(self.timeout, fetch).await {
            Ok(r) => r.map_err(|e| self.error(e, None))?,
            Err(_) => return Err(self.timed_out(None)),
        };
        let text = String::from_utf8_lossy(&body);
        Ok(text
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split('\t').map(unescape).collect())
            .collect())
    }

    /// Starts `INSERT ... FORMAT RowBinary`; the body follows in chunks
    /// (LZ4-compressed on the way) and [`Insert::end`] commits it.
    pub fn insert<'c>(&'c self, sql: String, table: &'c str) -> Insert<'c> {
        let inner = self
            .client
            .insert_formatted_with(sql)
            .with_timeouts(Some(self.timeout), Some(self.timeout));
        Insert {
            conn: self,
            table,
            inner,
        }
    }

    fn timed_out(&self, table: Option<&str>) -> PluginError {
        let e = PluginError::external(format!(
            "ClickHouse did not answer within {:?}",
            self.timeout
        ))
        .with_context("url", &self.url);
        match table {
            Some(t) => e.with_context("table", t),
            None => e,
        }
    }

    /// Classifies a client error. Connection failures and timeouts are
    /// retryable and name the URL; a server exception carries the server's
    /// message, and is retryable only for transient codes.
    pub fn error(&self, e: Error, table: Option<&str>) -> PluginError {
        let err = match &e {
            Error::Network(_) | Error::TimedOut => {
                PluginError::external(format!("cannot reach ClickHouse: {}", chain(&e)))
            }
            Error::BadResponse(msg) => {
                let code = code(msg);
                PluginError::external(format!("ClickHouse refused the statement: {}", msg.trim()))
                    .retryable(code.is_some_and(|c| TRANSIENT.contains(&c)))
            }
            _ => PluginError::external(format!("ClickHouse client error: {}", chain(&e)))
                .retryable(false),
        };
        let mut err = err.with_context("url", &self.url);
        if let Some(p) = &self.password {
            err.message = err.message.replace(p.as_str(), "***");
        }
        match table {
            Some(t) => err.with_context("table", t),
            None => err,
        }
    }
}

/// The server's error code in `Code: 60, e.displayText() = ...` (18.16) or
/// `Code: 60. DB::Exception: ...` (newer).
pub fn code(msg: &str) -> Option<u32> {
    let rest = &msg[msg.find("Code: ")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The error and its sources, as one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = inner.source();
    }
    s
}

/// Undoes TabSeparated escaping.
pub fn unescape(field: &str) -> String {
    if !field.contains('\\') {
        return field.to_string();
    }
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_old_and_new_servers() {
        assert_eq!(
            code("Code: 60, e.displayText() = DB::Exception: Table x doesn't exist."),
            Some(60)
        );
        assert_eq!(code("Code: 252. DB::Exception: Too many parts"), Some(252));
        assert_eq!(code("no code"), None);
    }

    #[test]
    fn tab_separated_unescape() {
        assert_eq!(unescape("DateTime(\\'UTC\\')"), "DateTime('UTC')");
        assert_eq!(unescape("a\\tb\\\\c"), "a\tb\\c");
    }
}
