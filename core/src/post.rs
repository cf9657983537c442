//! POSTing a JSON document to a webhook-like endpoint, retried a few times
//! with a growing backoff: shared by release alerts and lineage events,
//! neither of which may ever stop a pipeline.

use serde_json::Value;
use std::time::Duration;

/// An HTTP client with the timeout every such POST uses.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

/// POSTs `doc` up to `attempts` times, waiting `first_wait` and then four
/// times longer between tries; the last failure in words when none took it.
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    doc: &Value,
    attempts: u32,
    first_wait: Duration,
) -> Result<(), String> {
    let body = serde_json::to_vec(doc).map_err(|e| e.to_string())?;
    let mut wait = first_wait;
    let mut last = String::new();
    for attempt in 1..=attempts {
        let request = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone());
        match request.send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => last = format!("endpoint answered {}", r.status()),
            Err(e) => last = format!("endpoint unreachable: {}", e.without_url()),
        }
        tracing::warn!(attempt, error = %last, "POST not taken");
        if attempt < attempts {
            tokio::time::sleep(wait).await;
            wait *= 4;
        }
    }
    Err(last)
}
