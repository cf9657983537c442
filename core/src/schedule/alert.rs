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
        Self {
            url,
            client: crate::post::client(),
        }
    }

    /// Logs `doc` and posts it; returns whether the webhook took it.
    pub async fn send(&self, doc: Value) -> bool {
        tracing::warn!(alert = %doc, "release alert");
        let Some(url) = &self.url else {
            return false;
        };
        let sent = crate::post::post_json(
            &self.client,
            url,
            &doc,
            ATTEMPTS,
            Duration::from_millis(250),
        )
        .await;
        if sent.is_err() {
            tracing::error!(event = %doc["event"], "alert not delivered after {ATTEMPTS} attempts");
        }
        sent.is_ok()
    }
}
