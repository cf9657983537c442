//! The alert of a failed load: a JSON document POSTed to the gates'
//! `alert_webhook`, in the shape of the runtime's release alerts (`event`,
//! `pipeline`, `message`, ...), retried a few times; an alert that cannot
//! be delivered is logged and tried again at the load's next attempt.

use std::time::Duration;

/// Attempts per delivery.
const ATTEMPTS: u32 = 3;

/// POSTs `doc` to `url`; returns whether the webhook took it. The URL is
/// never logged (it often carries a token).
pub async fn send(url: &str, doc: &serde_json::Value) -> bool {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the alert client");
            return false;
        }
    };
    let body = doc.to_string();
    let mut wait = Duration::from_millis(200);
    for attempt in 1..=ATTEMPTS {
        let request = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone());
        match request.send().await {
            Ok(r) if r.status().is_success() => return true,
            Ok(r) => {
                tracing::warn!(attempt, status = %r.status(), "alert webhook refused the quality alert")
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
    false
}
