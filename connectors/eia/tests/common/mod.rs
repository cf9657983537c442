//! Test support: a real HTTP server on a loopback port serving the real EIA
//! files, and helpers that run the source and read its batches.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use qdp_eia::Eia;
use qdp_sdk::arrow::array::{
    Array, Float64Array, LargeBinaryArray, RecordBatch, StringArray, TimestampNanosecondArray,
};
use qdp_sdk::{Checkpoint, Context, Result, Source, SourceBatch};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A file of the real sample data.
pub fn real(rel: &str) -> Vec<u8> {
    let path = qdp_test_services::real_data(&format!("eia/{rel}"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub query: String,
    pub params: HashMap<String, String>,
}

/// Status, headers and body of a reply.
pub type Reply = (u16, Vec<(String, String)>, Vec<u8>);
type Handler = Arc<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

/// A loopback HTTP server whose replies a test decides.
pub struct Server {
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Starts a server on 127.0.0.1 (ephemeral port) in its own thread;
    /// `reply` gets each request and how many came before it.
    pub fn start(reply: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Self {
        let handler: Handler = Arc::new(reply);
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = seen.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().fallback(move |req: Request| {
                    let handler = handler.clone();
                    let log = log.clone();
                    async move {
                        let query = req.uri().query().unwrap_or_default().to_string();
                        let s = Seen {
                            path: req.uri().path().to_string(),
                            params: parse_query(&query),
                            query,
                        };
                        let n = {
                            let mut l = log.lock().unwrap();
                            l.push(s.clone());
                            l.len() - 1
                        };
                        let (status, headers, body) = handler(&s, n);
                        let mut resp: Response =
                            (StatusCode::from_u16(status).unwrap(), Bytes::from(body))
                                .into_response();
                        for (k, v) in headers {
                            resp.headers_mut().insert(
                                HeaderName::try_from(k).unwrap(),
                                HeaderValue::try_from(v).unwrap(),
                            );
                        }
                        resp
                    }
                });
                axum::serve(listener, app).await.unwrap();
            });
        });
        let addr = rx.recv().unwrap();
        Self {
            base: format!("http://{addr}"),
            seen,
        }
    }

    /// Requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

/// An API v2 page cut from a real response file the way the API would:
/// rows from `start` on, sorted as asked, `offset`/`length` (at most
/// 5000), the file's own `total`, `dateFormat` and warnings kept, and the
/// request echoed with the key the way live responses do.
pub fn api_page(file: &[u8], s: &Seen) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(file).unwrap();
    let rows = doc["response"]["data"].as_array().cloned().unwrap();
    let start = s.params.get("start").cloned();
    let mut rows: Vec<Value> = rows
        .into_iter()
        .filter(|r| match &start {
            Some(st) => r["period"].as_str().unwrap() >= st.as_str(),
            None => true,
        })
        .collect();
    rows.sort_by(|a, b| a["period"].as_str().cmp(&b["period"].as_str()));
    if s.params.get("sort[0][direction]").map(String::as_str) == Some("desc") {
        rows.reverse();
    }
    let offset: usize = s.params.get("offset").map_or(0, |v| v.parse().unwrap());
    let length: usize = s
        .params
        .get("length")
        .map_or(5000, |v| v.parse().unwrap())
        .min(5000);
    let page: Vec<Value> = rows.into_iter().skip(offset).take(length).collect();
    doc["response"]["data"] = Value::Array(page);
    let params: serde_json::Map<String, Value> = s
        .params
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    doc["request"] = serde_json::json!({ "command": s.path, "params": params });
    serde_json::to_vec(&doc).unwrap()
}

/// 200 with a body.
pub fn ok(body: Vec<u8>) -> Reply {
    (200, Vec::new(), body)
}

/// Runs one pass of a source built from `options`, from `checkpoint`.
pub async fn pass(options: Value, checkpoint: Option<Checkpoint>) -> Result<Vec<SourceBatch>> {
    let ctx = Context {
        component_id: "eia_test".into(),
        ..Context::default()
    };
    let o =
        serde_json::from_value(options).map_err(|e| qdp_sdk::PluginError::config(e.to_string()))?;
    let mut src = Eia::new(o, &ctx)?;
    src.start(checkpoint).await?;
    let mut out = Vec::new();
    while let Some(b) = src.next_batch().await? {
        out.push(b);
    }
    src.shutdown().await?;
    Ok(out)
}

/// One `numeric_economic_data` row, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub release_code: String,
    pub release_field: String,
    pub reference_period: String,
    pub value: f64,
    pub unit: String,
    pub release_time: String,
    pub component: String,
}

fn text(b: &RecordBatch, name: &str) -> StringArray {
    b.column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
        .clone()
}

/// Every numeric row in `batches`.
pub fn rows(batches: &[SourceBatch]) -> Vec<Row> {
    let mut out = Vec::new();
    for b in batches
        .iter()
        .filter(|b| b.category == "numeric_economic_data")
    {
        let d = &b.data;
        let values = d
            .column_by_name("release_field_value")
            .unwrap()
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap()
            .clone();
        let times = d
            .column_by_name("release_time")
            .unwrap()
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap()
            .clone();
        let (code, field, period, unit, comp) = (
            text(d, "release_code"),
            text(d, "release_field"),
            text(d, "reference_period"),
            text(d, "release_field_value_unit"),
            text(d, "component_instance_name"),
        );
        for i in 0..d.num_rows() {
            out.push(Row {
                release_code: code.value(i).into(),
                release_field: field.value(i).into(),
                reference_period: period.value(i).into(),
                value: values.value(i),
                unit: unit.value(i).into(),
                release_time: chrono::DateTime::from_timestamp_nanos(times.value(i)).to_rfc3339(),
                component: comp.value(i).into(),
            });
        }
    }
    out
}

/// Rows of one category.
pub fn count(batches: &[SourceBatch], category: &str) -> usize {
    batches
        .iter()
        .filter(|b| b.category == category)
        .map(|b| b.data.num_rows())
        .sum()
}

/// A text column of every batch of one category.
pub fn texts(batches: &[SourceBatch], category: &str, column: &str) -> Vec<String> {
    batches
        .iter()
        .filter(|b| b.category == category)
        .flat_map(|b| {
            let a = text(&b.data, column);
            (0..a.len())
                .map(move |i| a.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Every byte of every text and binary cell of every batch.
pub fn all_bytes(batches: &[SourceBatch]) -> Vec<u8> {
    let mut out = Vec::new();
    for b in batches {
        out.extend_from_slice(b.checkpoint.as_bytes());
        out.extend_from_slice(b.source_system.as_bytes());
        for col in b.data.columns() {
            if let Some(s) = col.as_any().downcast_ref::<StringArray>() {
                for v in s.iter().flatten() {
                    out.extend_from_slice(v.as_bytes());
                    out.push(b'\n');
                }
            } else if let Some(s) = col.as_any().downcast_ref::<LargeBinaryArray>() {
                for v in s.iter().flatten() {
                    out.extend_from_slice(v);
                    out.push(b'\n');
                }
            }
        }
    }
    out
}

/// The contents of the raw objects, by object name.
pub fn raw_objects(batches: &[SourceBatch]) -> Vec<qdp_sdk::raw::RawObject> {
    batches
        .iter()
        .filter(|b| b.category == "raw_object")
        .flat_map(|b| qdp_sdk::raw::from_batch(&b.data).unwrap())
        .collect()
}
