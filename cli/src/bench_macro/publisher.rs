//! The stand-in for ir.eia.gov: serves `/wpsr/table1.csv` as EIA does (the
//! last published table until the next one goes out) with each release's
//! faults, and takes the pipeline's alerts on `POST /alert`.
//!
//! Written on a bare TCP socket, because the faults are what a real server
//! library refuses to do: a body cut short under a longer Content-Length, a
//! request held open until the client gives up.

use super::plan::{Fault, Release};
use chrono::{DateTime, Utc};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// What the publisher tells the harness.
#[derive(Debug)]
pub enum Event {
    /// Release `k` was served whole for the first time; it asked for the
    /// process to be killed while it loads.
    KillNow(usize),
}

/// What happened to one release at the publisher.
#[derive(Debug, Clone, Default)]
pub struct Served {
    /// When the whole new table first went out (simulated time).
    pub first_whole: Option<DateTime<Utc>>,
    /// Faults served.
    pub faults: usize,
    /// Requests answered.
    pub requests: usize,
}

/// Shared between the connections.
pub struct Shared {
    releases: Vec<Release>,
    served: Vec<Served>,
    alerts: Vec<serde_json::Value>,
}

/// The running publisher.
#[derive(Clone)]
pub struct Publisher {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    shared: Arc<Mutex<Shared>>,
}

impl Publisher {
    /// Starts serving `releases` on loopback, reading the simulated time
    /// from the clock file `clock`.
    pub async fn start(
        releases: Vec<Release>,
        clock: PathBuf,
        events: mpsc::UnboundedSender<Event>,
    ) -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("publisher: {e}"))?;
        let base = format!(
            "http://{}",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        let shared = Arc::new(Mutex::new(Shared {
            served: vec![Served::default(); releases.len()],
            releases,
            alerts: Vec::new(),
        }));
        let s = Arc::clone(&shared);
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (s, clock, events) = (Arc::clone(&s), clock.clone(), events.clone());
                tokio::spawn(async move {
                    let _ = handle(conn, &s, &clock, &events).await;
                });
            }
        });
        Ok(Self { base, shared })
    }

    /// What each release went through so far.
    pub fn served(&self) -> Vec<Served> {
        self.lock().served.clone()
    }

    /// The alerts received.
    pub fn alerts(&self) -> Vec<serde_json::Value> {
        self.lock().alerts.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Reads one request: (method, path, body).
async fn read_request(conn: &mut TcpStream) -> std::io::Result<(String, String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut first = head.lines().next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let path = first.next().unwrap_or_default().to_string();
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = buf[end..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((method, path, body))
}

fn response(status: &str, headers: &[(&str, String)], length: usize) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {length}\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// What one table request gets.
enum Answer {
    Fault(Fault, Vec<u8>),
    Whole(Vec<u8>, Option<usize>),
}

fn answer(s: &Mutex<Shared>, now: DateTime<Utc>) -> Answer {
    let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
    let Some(k) = s.releases.iter().rposition(|r| r.published <= now) else {
        return Answer::Whole(Vec::new(), None);
    };
    s.served[k].requests += 1;
    let body = s.releases[k].table.body.clone();
    if let Some(f) = s.releases[k].faults.pop_front() {
        s.served[k].faults += 1;
        return Answer::Fault(f, body);
    }
    let first = s.served[k].first_whole.is_none();
    if first {
        s.served[k].first_whole = Some(now);
    }
    let kill = (first && s.releases[k].kill).then_some(k);
    Answer::Whole(body, kill)
}

async fn handle(
    mut conn: TcpStream,
    s: &Mutex<Shared>,
    clock: &std::path::Path,
    events: &mpsc::UnboundedSender<Event>,
) -> std::io::Result<()> {
    let (method, path, body) = read_request(&mut conn).await?;
    if method == "POST" && path == "/alert" {
        if let Ok(doc) = serde_json::from_slice(&body) {
            s.lock().unwrap_or_else(|p| p.into_inner()).alerts.push(doc);
        }
        conn.write_all(&response("204 No Content", &[], 0)).await?;
        return conn.shutdown().await;
    }
    if path != "/wpsr/table1.csv" {
        conn.write_all(&response("404 Not Found", &[], 0)).await?;
        return conn.shutdown().await;
    }
    let now = qdp_core::schedule::fast_forward::now_in(clock)?;
    match answer(s, now) {
        Answer::Whole(body, kill) => {
            if body.is_empty() {
                conn.write_all(&response("404 Not Found", &[], 0)).await?;
                return conn.shutdown().await;
            }
            let csv = ("Content-Type", "text/csv".to_string());
            conn.write_all(&response("200 OK", &[csv], body.len()))
                .await?;
            conn.write_all(&body).await?;
            conn.shutdown().await?;
            if let Some(k) = kill {
                let _ = events.send(Event::KillNow(k));
            }
            Ok(())
        }
        Answer::Fault(f, body) => fault(conn, f, &body).await,
    }
}

async fn fault(mut conn: TcpStream, f: Fault, body: &[u8]) -> std::io::Result<()> {
    match f {
        Fault::TooMany(secs) => {
            let text = b"Too many requests";
            let h = [("Retry-After", secs.to_string())];
            conn.write_all(&response("429 Too Many Requests", &h, text.len()))
                .await?;
            conn.write_all(text).await?;
        }
        Fault::ServerError(code) => {
            let text = b"upstream unavailable";
            let status = match code {
                500 => "500 Internal Server Error",
                502 => "502 Bad Gateway",
                _ => "503 Service Unavailable",
            };
            conn.write_all(&response(status, &[], text.len())).await?;
            conn.write_all(text).await?;
        }
        Fault::Hang => {
            // Held open without an answer until the client gives up (it
            // closes the socket) or far longer than any sane timeout.
            let mut sink = [0u8; 64];
            let _ = tokio::time::timeout(Duration::from_secs(60), conn.read(&mut sink)).await;
            return Ok(());
        }
        Fault::CutInTransit => {
            // The whole length announced, a part sent, the connection gone.
            conn.write_all(&response("200 OK", &[], body.len())).await?;
            conn.write_all(&body[..body.len() / 2]).await?;
        }
        Fault::CutAtPublisher => {
            // A half-written file served as if whole.
            let part = &body[..body.len() * 3 / 5];
            conn.write_all(&response("200 OK", &[], part.len())).await?;
            conn.write_all(part).await?;
        }
    }
    conn.shutdown().await
}
