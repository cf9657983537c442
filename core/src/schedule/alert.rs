//! Release alerts: a small JSON document POSTed to `alert_webhook` when a
//! release passes its SLA without being loaded, when it finally loads late,
//! and when it is given up on.
//!
//! Sent inline by the source's scheduler (so alerts of one release arrive in
//! order), retried a few times with a short backoff, logged either way; an
//! alert that cannot be delivered never stops the pipeline.

use serde_json::Value;
use std::time::Duration;

/// Attempts per alert.
const ATTEMPTS: u32 = 4;

/// Posts alerts to one webhook.
#[derive(Debug, Clone)]
pub struct Alerts {
    url: Option<String>,
    client: reqwest::Client,
}

impl Alerts {
    /// Alerts to `url`; with `None` they are only logged.
    pub fn new(url: Option<String>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self { url, client }
    }

    /// Logs `doc` and posts it; returns whether the webhook took it.
    pub async fn send(&self, doc: Value) -> bool {
        tracing::warn!(alert = %doc, "release alert");
        let Some(url) = &self.url else {
            return false;
        };
        let mut wait = Duration::from_millis(250);
        for attempt in 1..=ATTEMPTS {
            let body = serde_json::to_vec(&doc).unwrap_or_default();
            let request = self
                .client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
            match request.send().await {
                Ok(r) if r.status().is_success() => return true,
                Ok(r) => {
                    tracing::warn!(attempt, status = %r.status(), "alert webhook refused the alert")
                }
                Err(e) => {
                    tracing::warn!(attempt, error = %e.without_url(), "alert webhook unreachable")
                }
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(wait).await;
                wait *= 4;
            }
        }
        tracing::error!(event = %doc["event"], "alert not delivered after {ATTEMPTS} attempts");
        false
    }
}
