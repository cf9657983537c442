//! Getting a document: over HTTP(S), or from a local path.

use qdp_sdk::{PluginError, Result};

/// `url` without the values of query parameters that carry secrets
/// (`api_key`, `$$app_token`, tokens): the name a document is stored under.
pub fn redact(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| {
            let k = kv.split('=').next().unwrap_or("").to_ascii_lowercase();
            !(k.contains("key")
                || k.contains("token")
                || k.contains("secret")
                || k.contains("password"))
        })
        .collect();
    if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// GETs `url`; an HTTP error status is an external error naming the
/// address (without secrets) and the status.
pub async fn get(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
) -> Result<(String, Vec<u8>)> {
    let mut req = client.get(url);
    if let Some(t) = token {
        req = req.header("X-App-Token", t);
    }
    let shown = redact(url);
    let resp = req
        .send()
        .await
        .map_err(|e| PluginError::external(format!("GET {shown}: {}", e.without_url())))?;
    let status = resp.status();
    let final_url = redact(resp.url().as_str());
    if !status.is_success() {
        return Err(PluginError::external(format!("GET {shown}: HTTP {status}"))
            .with_context("url", &shown));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| PluginError::external(format!("GET {shown}: {}", e.without_url())))?;
    Ok((final_url, body.to_vec()))
}

/// Reads a local file.
pub async fn read(path: &str) -> Result<Vec<u8>> {
    let p = path.strip_prefix("file://").unwrap_or(path);
    tokio::fs::read(p).await.map_err(|e| {
        PluginError::external(format!("cannot read `{p}`: {e}")).with_context("path", p)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_leave_the_name() {
        assert_eq!(
            redact("https://x/y.json?$limit=5&api_key=abc&$$app_token=t"),
            "https://x/y.json?$limit=5"
        );
        assert_eq!(redact("https://x/f.zip"), "https://x/f.zip");
    }
}
