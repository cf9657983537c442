//! HTTP GETs to EIA: paced (`min_interval` between requests, so one
//! pipeline never hammers the publisher), retried with exponential backoff
//! on 429, 5xx and network errors (honouring `Retry-After`), and never
//! showing the API key: every URL and error text goes through [`Redactor`].

use crate::config::Pacing;
use qdp_sdk::{PluginError, Result};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Removes a secret from anything that could reach a log, an error or a batch.
#[derive(Clone, Default)]
pub struct Redactor {
    secret: String,
}

impl Redactor {
    /// Hides `secret` (nothing when empty).
    pub fn new(secret: &str) -> Self {
        Self {
            secret: secret.to_string(),
        }
    }

    /// `text` with the secret replaced by `***`.
    pub fn text(&self, text: &str) -> String {
        if self.secret.is_empty() {
            return text.to_string();
        }
        let mut out = text.replace(&self.secret, "***");
        let encoded = percent_encode(&self.secret);
        if encoded != self.secret {
            out = out.replace(&encoded, "***");
        }
        out
    }

    /// `bytes` with the secret replaced by `***` wherever it occurs.
    pub fn bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let needle = self.secret.as_bytes();
        if needle.is_empty() || bytes.len() < needle.len() {
            return bytes.to_vec();
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i..].starts_with(needle) {
                out.extend_from_slice(b"***");
                i += needle.len();
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }
}

/// Percent-encodes everything but unreserved URL characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A response body and when it arrived.
pub struct Fetched {
    /// The bytes as received.
    pub body: Vec<u8>,
    /// Receipt time, ns since the epoch.
    pub received_ns: i64,
}

/// Checks a 200 body before it is accepted: `Err(why)` when it is cut
/// short, so it is fetched again like a 5xx instead of being read.
pub type Check = fn(&[u8]) -> std::result::Result<(), String>;

/// Accepts any body.
pub fn any_body(_: &[u8]) -> std::result::Result<(), String> {
    Ok(())
}

/// A paced, retrying HTTP client. Clones share the client and the pace,
/// so a request can run in its own task (see [`Fetcher::spawn`]).
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    pacing: Pacing,
    redact: Redactor,
    last: Arc<Mutex<Option<Instant>>>,
}

impl Fetcher {
    /// A client with the pacing's timeout.
    pub fn new(pacing: Pacing, redact: Redactor) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(pacing.timeout)
            .user_agent(concat!("qdp-eia/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                PluginError::config(format!("http client: {}", redact.text(&e.to_string())))
            })?;
        Ok(Self {
            client,
            pacing,
            redact,
            last: Arc::default(),
        })
    }

    /// Starts `get(url)` in its own task. The runtime drops `next_batch`
    /// when it has waited long enough (200 ms) and calls it again; a
    /// request made inside that future would be cut off every time, so it
    /// runs in a task the source awaits by reference, which survives.
    pub fn spawn(&self, url: String, check: Check) -> JoinHandle<Result<Fetched>> {
        let me = self.clone();
        tokio::spawn(async move { me.get(&url, check).await })
    }

    /// Waits until `min_interval` has passed since the previous request.
    async fn pace(&self) {
        let now = Instant::now();
        let at = {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            let at = last.map_or(now, |l| (l + self.pacing.min_interval).max(now));
            *last = Some(at);
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// GETs `url`, retrying what may pass on a later try (a body `check`
    /// rejects included). Errors show the URL with the key replaced by `***`.
    pub async fn get(&self, url: &str, check: Check) -> Result<Fetched> {
        let shown = self.redact.text(url);
        let mut wait = self.pacing.retry_initial;
        let mut attempt = 0u32;
        loop {
            self.pace().await;
            let outcome = self.once(url).await.and_then(|f| match check(&f.body) {
                Ok(()) => Ok(f),
                Err(why) => Err(Failure::Retry(format!("incomplete body: {why}"), None)),
            });
            let (err, retry_after) = match outcome {
                Ok(f) => return Ok(f),
                Err(Failure::Final(msg)) => {
                    return Err(PluginError::config(msg).with_context("url", &shown));
                }
                Err(Failure::Retry(msg, after)) => (msg, after),
            };
            if attempt >= self.pacing.max_retries {
                return Err(PluginError::external(format!(
                    "{err} (gave up after {} attempts)",
                    attempt + 1
                ))
                .with_context("url", &shown));
            }
            attempt += 1;
            let pause = retry_after.unwrap_or(wait).min(self.pacing.retry_max);
            tracing::warn!(url = %shown, attempt, wait_ms = pause.as_millis() as u64, "{err}; retrying");
            tokio::time::sleep(pause).await;
            wait = (wait * 2).min(self.pacing.retry_max);
        }
    }

    async fn once(&self, url: &str) -> std::result::Result<Fetched, Failure> {
        let r = &self.redact;
        let resp = self.client.get(url).send().await.map_err(|e| {
            // reqwest's text carries the URL, key included: hide it.
            Failure::Retry(
                format!("request failed: {}", r.text(&e.without_url().to_string())),
                None,
            )
        })?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.bytes().await.map_err(|e| {
            Failure::Retry(
                format!(
                    "reading the body failed: {}",
                    r.text(&e.without_url().to_string())
                ),
                None,
            )
        })?;
        let received_ns = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        if status.is_success() {
            return Ok(Fetched {
                body: body.to_vec(),
                received_ns,
            });
        }
        let snippet: String = String::from_utf8_lossy(&body).chars().take(300).collect();
        let msg = format!("HTTP {status}: {}", r.text(snippet.trim()));
        if status.as_u16() == 429 || status.is_server_error() || status.as_u16() == 408 {
            Err(Failure::Retry(msg, retry_after))
        } else {
            Err(Failure::Final(msg))
        }
    }
}

enum Failure {
    /// May pass later (429, 5xx, network).
    Retry(String, Option<Duration>),
    /// Will not pass by retrying (400, 403 bad key, 404 wrong route).
    Final(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_plain_and_encoded_keys() {
        let r = Redactor::new("k3y+/x");
        assert_eq!(r.text("a k3y+/x b k3y%2B%2Fx"), "a *** b ***");
        assert_eq!(
            r.bytes(b"{\"api_key\":\"k3y+/x\"}"),
            b"{\"api_key\":\"***\"}".to_vec()
        );
        assert_eq!(Redactor::new("").text("same"), "same");
    }
}
