//! Shared test parts: the real CFTC files, zipping them, a real HTTP server
//! on 127.0.0.1, and running passes of the source in process.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use axum::http::{StatusCode, Uri};
use qdp_cftc::Cftc;
use qdp_sdk::arrow::array::{Array, AsArray, RecordBatch};
use qdp_sdk::arrow::datatypes::{Float64Type, TimestampNanosecondType};
use qdp_sdk::{Checkpoint, Context, Source, SourceBatch};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A file of the real sample data.
pub fn real(name: &str) -> String {
    qdp_test_services::real_data(&format!("cftc/{name}"))
        .display()
        .to_string()
}

pub fn real_bytes(name: &str) -> Vec<u8> {
    std::fs::read(real(name)).unwrap()
}

/// `txt` zipped under `name`, deflated, as the CFTC publishes it.
pub fn zipped(name: &str, txt: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file(name, opts).unwrap();
    w.write_all(txt).unwrap();
    w.finish().unwrap().into_inner()
}

/// Canned answers: (substring of the decoded query, body).
pub type Answers = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A real HTTP server: serves whatever `files` holds at a path, records
/// every request's path and query.
#[derive(Clone, Default)]
pub struct Server {
    pub files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    pub requests: Arc<Mutex<Vec<String>>>,
    /// Answers chosen by the query string: (substring, body), first match wins.
    by_query: Answers,
    pub base: String,
}

impl Server {
    pub async fn start() -> Server {
        let mut s = Server::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        s.base = format!("http://{}", listener.local_addr().unwrap());
        let state = s.clone();
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let state = state.clone();
            async move {
                let pq = uri
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                state.requests.lock().unwrap().push(pq.clone());
                let query = percent_decode(uri.query().unwrap_or(""));
                for (needle, body) in state.by_query.lock().unwrap().iter() {
                    if query.contains(needle.as_str()) {
                        return (StatusCode::OK, body.clone());
                    }
                }
                match state.files.lock().unwrap().get(uri.path()) {
                    Some(b) => (StatusCode::OK, b.clone()),
                    None => (StatusCode::NOT_FOUND, b"not found".to_vec()),
                }
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        s
    }

    pub fn put(&self, path: &str, body: Vec<u8>) {
        self.files.lock().unwrap().insert(path.to_string(), body);
    }

    /// Answers `body` to any request whose query contains `needle`.
    pub fn answer_query(&self, needle: &str, body: &[u8]) {
        self.by_query
            .lock()
            .unwrap()
            .push((needle.to_string(), body.to_vec()));
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn decoded_requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| percent_decode(r))
            .collect()
    }
}

/// Decodes `%XX` and `+` in a query string.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// One pass: start from `from`, read every batch.
pub async fn pass(options: serde_json::Value, from: Option<Checkpoint>) -> Vec<SourceBatch> {
    let ctx = Context {
        component_id: "cot".into(),
        ..Context::default()
    };
    let mut s = Cftc::new(serde_json::from_value(options).unwrap(), &ctx).unwrap();
    s.start(from).await.unwrap();
    let mut out = Vec::new();
    while let Some(b) = s.next_batch().await.unwrap() {
        out.push(b);
    }
    out
}

/// The checkpoint after a pass (of its last batch), or the one it started from.
pub fn last_checkpoint(batches: &[SourceBatch], from: Option<Checkpoint>) -> Option<Checkpoint> {
    batches.last().map(|b| b.checkpoint.clone()).or(from)
}

/// Batches of one category.
pub fn of<'a>(batches: &'a [SourceBatch], category: &str) -> Vec<&'a RecordBatch> {
    batches
        .iter()
        .filter(|b| b.category == category)
        .map(|b| &b.data)
        .collect()
}

pub fn text_col(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let a = b.column_by_name(name).unwrap().as_string::<i32>();
    (0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
        .collect()
}

/// A numeric_economic_data row, flattened.
#[derive(Debug, Clone, PartialEq)]
pub struct Num {
    pub system: String,
    pub publisher: String,
    pub release_code: String,
    pub release_time_ns: i64,
    pub field: String,
    pub value: f64,
    pub unit: String,
    pub period: String,
    pub component: String,
}

pub fn numbers(batches: &[SourceBatch]) -> Vec<Num> {
    let mut out = Vec::new();
    for b in of(batches, "numeric_economic_data") {
        let t = |n| text_col(b, n);
        let (sys, publ, code, field, unit, period, comp) = (
            t("source_system_name"),
            t("publisher_code"),
            t("release_code"),
            t("release_field"),
            t("release_field_value_unit"),
            t("reference_period"),
            t("component_instance_name"),
        );
        let v = b
            .column_by_name("release_field_value")
            .unwrap()
            .as_primitive::<Float64Type>();
        let rt = b
            .column_by_name("release_time")
            .unwrap()
            .as_primitive::<TimestampNanosecondType>();
        for i in 0..b.num_rows() {
            out.push(Num {
                system: sys[i].clone().unwrap(),
                publisher: publ[i].clone().unwrap(),
                release_code: code[i].clone().unwrap(),
                release_time_ns: rt.value(i),
                field: field[i].clone().unwrap(),
                value: v.value(i),
                unit: unit[i].clone().unwrap(),
                period: period[i].clone().unwrap(),
                component: comp[i].clone().unwrap(),
            });
        }
    }
    out
}

/// The value of `field` for `period`, if loaded.
pub fn value(nums: &[Num], field: &str, period: &str) -> Option<f64> {
    let hits: Vec<&Num> = nums
        .iter()
        .filter(|n| n.field == field && n.period == period)
        .collect();
    assert!(
        hits.len() <= 1,
        "{field} {period} loaded {} times",
        hits.len()
    );
    hits.first().map(|n| n.value)
}

/// Rows of one text column across batches of a category.
pub fn column(batches: &[SourceBatch], category: &str, name: &str) -> Vec<Option<String>> {
    of(batches, category)
        .into_iter()
        .flat_map(|b| text_col(b, name))
        .collect()
}

/// Nanoseconds since the epoch of an RFC 3339 instant.
pub fn ns(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_nanos_opt()
        .unwrap()
}
