//! The connection task: connect, subscribe, keep alive, read frames into a
//! bounded queue, and reconnect with backoff when the connection is lost.

use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

/// What the task needs to know.
#[derive(Clone)]
pub struct Conn {
    /// Feed address.
    pub url: String,
    /// Sent after every (re)connect.
    pub subscribe: Vec<String>,
    /// Keep-alive message and period.
    pub heartbeat: Option<(String, Duration)>,
    /// First and longest reconnection wait.
    pub backoff: (Duration, Duration),
    /// TLS beyond the system's roots (`tls` option), for `wss://`.
    pub tls: Option<native_tls::TlsConnector>,
    /// Certificates are not checked (`tls.accept_invalid_certs`).
    pub insecure: bool,
}

/// A frame as received: text and receipt time (Unix ns).
pub struct Frame {
    /// The frame's text (binary frames are read as UTF-8, lossily).
    pub text: String,
    /// When it was read.
    pub received_ns: i64,
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// Runs until `stop` turns true or the receiver is dropped. A full queue
/// stops reading the socket (the server sees TCP backpressure); nothing
/// read is ever dropped.
pub async fn run(c: Conn, tx: mpsc::Sender<Frame>, mut stop: watch::Receiver<bool>) {
    let mut wait = c.backoff.0;
    loop {
        if *stop.borrow() {
            return;
        }
        if c.insecure {
            tracing::warn!(url = %c.url, "tls.accept_invalid_certs: the server's certificate is not checked");
        }
        let connector = c.tls.clone().map(tokio_tungstenite::Connector::NativeTls);
        match tokio_tungstenite::connect_async_tls_with_config(
            c.url.as_str(),
            None,
            false,
            connector,
        )
        .await
        {
            Ok((ws, _)) => {
                tracing::info!(url = %c.url, "websocket connected");
                let (mut write, mut read) = ws.split();
                let mut ok = true;
                for m in &c.subscribe {
                    if write.send(Message::text(m.clone())).await.is_err() {
                        ok = false;
                        break;
                    }
                }
                let period = c
                    .heartbeat
                    .as_ref()
                    .map_or(Duration::from_secs(3600), |h| h.1);
                let mut beat =
                    tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                while ok {
                    tokio::select! {
                        _ = stop.changed() => {
                            let _ = write.send(Message::Close(None)).await;
                            return;
                        }
                        _ = beat.tick(), if c.heartbeat.is_some() => {
                            let msg = c.heartbeat.as_ref().map(|h| h.0.clone()).unwrap_or_default();
                            ok = write.send(Message::text(msg)).await.is_ok();
                        }
                        msg = read.next() => match msg {
                            Some(Ok(Message::Text(t))) => {
                                wait = c.backoff.0;
                                let f = Frame { text: t.to_string(), received_ns: now_ns() };
                                if tx.send(f).await.is_err() {
                                    return;
                                }
                            }
                            Some(Ok(Message::Binary(b))) => {
                                let f = Frame { text: String::from_utf8_lossy(&b).into_owned(), received_ns: now_ns() };
                                if tx.send(f).await.is_err() {
                                    return;
                                }
                            }
                            Some(Ok(Message::Ping(p))) => ok = write.send(Message::Pong(p)).await.is_ok(),
                            Some(Ok(_)) => {}
                            Some(Err(e)) => {
                                tracing::warn!(url = %c.url, error = %e, "websocket read failed");
                                ok = false;
                            }
                            None => ok = false,
                        }
                    }
                }
                tracing::warn!(url = %c.url, "websocket disconnected; reconnecting");
            }
            Err(e) => {
                tracing::warn!(url = %c.url, error = %e, wait_ms = wait.as_millis() as u64, "websocket connect failed")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        wait = (wait * 2).min(c.backoff.1);
    }
}
