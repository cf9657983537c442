//! The built `websocket` library, loaded through the dynamic loader,
//! against a WebSocket server on loopback that replays recorded IBKR Client
//! Portal frames: subscriptions, heartbeats, partial updates, malformed
//! frames, a dropped connection, a slow consumer, and the conformance kit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::{SinkExt, StreamExt};
use qdp_sdk::arrow::array::{Array, AsArray, RecordBatch};
use qdp_sdk::arrow::datatypes::{Float64Type, Int64Type};
use qdp_sdk::conformance;
use qdp_sdk::ffi::host::{ForeignInstance, Kind, Polled};
use qdp_sdk::{Context, SourceBatch};
use serde_json::json;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const CONID: &str = "495512572";

/// What one connection does once the client has subscribed.
#[derive(Clone)]
enum Then {
    /// Send these frames, then drop the connection.
    SendAndDrop(Vec<String>),
    /// Wait for a heartbeat, send these frames, then stay open.
    AfterHeartbeat(Vec<String>),
    /// Send these frames as fast as the client takes them, then stay open.
    Flood(Vec<String>),
    /// Repeat these frames forever, numbering `_updated`.
    Forever(Vec<String>),
}

/// Messages each connection received from the client, in order.
type Received = Arc<Mutex<Vec<Vec<String>>>>;

/// A WebSocket server on its own thread; connection `i` follows `script[i]`
/// (the last entry for any later connection).
fn server(script: Vec<Then>, subscriptions: usize) -> (SocketAddr, Received) {
    let received: Received = Arc::default();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let rec = Arc::clone(&received);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let mut n = 0;
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let step = script[n.min(script.len() - 1)].clone();
                n += 1;
                let rec = Arc::clone(&rec);
                tokio::spawn(async move {
                    let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else { return };
                    let (mut tx, mut rx) = ws.split();
                    let idx = {
                        let mut r = rec.lock().unwrap();
                        r.push(Vec::new());
                        r.len() - 1
                    };
                    let mut got = 0;
                    while got < subscriptions {
                        let Some(Ok(Message::Text(t))) = rx.next().await else { return };
                        rec.lock().unwrap()[idx].push(t.to_string());
                        got += 1;
                    }
                    let keep = |rec: Received, mut rx: futures_util::stream::SplitStream<_>| async move {
                        while let Some(Ok(Message::Text(t))) = rx.next().await {
                            rec.lock().unwrap()[idx].push(t.to_string());
                        }
                    };
                    match step {
                        Then::SendAndDrop(frames) => {
                            for f in frames {
                                tx.send(Message::text(f)).await.unwrap();
                            }
                            tx.flush().await.unwrap();
                            // Dropping both halves cuts the TCP connection without a close frame.
                        }
                        Then::AfterHeartbeat(frames) => {
                            loop {
                                let Some(Ok(Message::Text(t))) = rx.next().await else { return };
                                rec.lock().unwrap()[idx].push(t.to_string());
                                if t.as_str() == "tic" {
                                    break;
                                }
                            }
                            for f in frames {
                                tx.send(Message::text(f)).await.unwrap();
                            }
                            keep(rec, rx).await;
                        }
                        Then::Flood(frames) => {
                            for f in frames {
                                if tx.send(Message::text(f)).await.is_err() {
                                    return;
                                }
                            }
                            keep(rec, rx).await;
                        }
                        Then::Forever(frames) => {
                            for i in 0u64.. {
                                for f in &frames {
                                    let f = f.replace("\"_updated\":1", &format!("\"_updated\":{}", 1_700_000_000_000u64 + i));
                                    if tx.send(Message::text(f)).await.is_err() {
                                        return;
                                    }
                                }
                            }
                        }
                    }
                });
            }
        });
    });
    (addr_rx.recv().unwrap(), received)
}

/// The published IBKR frames (`shared/data/real`, read as they are): next
/// to the checkout, at `QDP_REAL_DATA`, or at the workplace's `/work/shared`.
fn verbatim() -> Vec<String> {
    let rel = "ticks/ibkr_cpapi_ws/smd_messages_verbatim.jsonl";
    let path = qdp_test_services::real_data(rel);
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn options(addr: SocketAddr, extra: serde_json::Value) -> serde_json::Value {
    let mut o = json!({
        "url": format!("ws://{addr}"),
        "preset": "ibkr_cpapi",
        "reconnect_initial": "20ms",
        "reconnect_max": "200ms",
        "max_wait": "50ms",
        "ibkr": { "instruments": { CONID: { "symbol": "ESH3", "exchange": "CME" } } },
    });
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    o
}

fn source(opts: &serde_json::Value) -> ForeignInstance {
    let lib = conformance::built_library("qdp_websocket").unwrap();
    let mut s = lib
        .instantiate(Kind::Source, opts, &Context::default())
        .unwrap();
    s.start(None).unwrap();
    s
}

/// Polls until `enough` says the collected batches are complete.
fn collect(
    s: &mut ForeignInstance,
    enough: impl Fn(&BTreeMap<String, Vec<RecordBatch>>) -> bool,
) -> BTreeMap<String, Vec<RecordBatch>> {
    let mut out: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !enough(&out) {
        assert!(
            Instant::now() < deadline,
            "incomplete after 30 s: {:?}",
            out.iter().map(|(k, v)| (k, rows(v))).collect::<Vec<_>>()
        );
        if let Polled::Batch(SourceBatch {
            category,
            data,
            source_system,
            ..
        }) = s.poll(Duration::from_millis(200)).unwrap()
        {
            assert_eq!(source_system, "ibkr_cpapi");
            out.entry(category).or_default().push(data);
        }
    }
    out
}

fn rows(v: &[RecordBatch]) -> usize {
    v.iter().map(|b| b.num_rows()).sum()
}

fn count(m: &BTreeMap<String, Vec<RecordBatch>>, cat: &str) -> usize {
    m.get(cat).map_or(0, |v| rows(v))
}

fn floats(v: &[RecordBatch], col: &str) -> Vec<Option<f64>> {
    v.iter()
        .flat_map(|b| {
            let a = b.column_by_name(col).unwrap().as_primitive::<Float64Type>();
            (0..a.len())
                .map(|i| a.is_valid(i).then(|| a.value(i)))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn ints(v: &[RecordBatch], col: &str) -> Vec<i64> {
    v.iter()
        .flat_map(|b| {
            b.column_by_name(col)
                .unwrap()
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect()
}

fn texts(v: &[RecordBatch], col: &str) -> Vec<String> {
    v.iter()
        .flat_map(|b| {
            b.column_by_name(col)
                .unwrap()
                .as_string::<i32>()
                .iter()
                .map(|s| s.unwrap_or("").to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn recorded_frames_partial_updates_malformed_frames_and_a_dropped_connection() {
    let mut first = vec![r#"{"topic":"system","success":"trader1","isFT":false}"#.to_string()];
    first.extend(verbatim());
    first.extend([
        r#"{"topic":"smd+495512572","conid":495512572,"_updated":1678666665100,"31":"C3900.00"}"#.to_string(),
        r#"{"topic":"smd+495512572","conid":495512572,"_updated":1678666665200,"88":"1,236","87":"12.2M","87_raw":1.22E7}"#.to_string(),
        r#"{"topic":"smd+495512572","conid":495512572,"_updated":16786"#.to_string(),
        r#"{"topic":"smd+1","conid":1,"_updated":1678666665300,"31":"1.00"}"#.to_string(),
    ]);
    let second = vec![r#"{"topic":"smd+495512572","conid":495512572,"_updated":1678666666000,"31":"3914.00","7059":"3"}"#.to_string()];
    let (addr, received) = server(
        vec![Then::SendAndDrop(first), Then::AfterHeartbeat(second)],
        1,
    );
    let mut s = source(&options(
        addr,
        json!({ "heartbeat": { "message": "tic", "every": "50ms" } }),
    ));
    let got = collect(&mut s, |m| {
        count(m, "raw_ibkr_cpapi_ticks") >= 3
            && count(m, "raw_ibkr_cpapi_quotes") >= 4
            && count(m, "websocket_frames_unqualified") >= 2
    });
    let ticks = &got["raw_ibkr_cpapi_ticks"];
    assert_eq!(
        floats(ticks, "price"),
        vec![Some(3989.5), Some(3913.5), Some(3914.0)],
        "a C-prefixed close is no trade"
    );
    assert_eq!(floats(ticks, "size"), vec![None, None, Some(3.0)]);
    assert_eq!(
        ints(ticks, "updated_ms"),
        vec![1678284754734, 1678666665031, 1678666666000]
    );
    assert_eq!(texts(ticks, "symbol_code"), vec!["ESH3"; 3]);
    assert_eq!(texts(ticks, "availability")[0], "RB");
    let quotes = &got["raw_ibkr_cpapi_quotes"];
    assert_eq!(texts(quotes, "side"), vec!["bid", "ask", "bid", "ask"]);
    assert_eq!(
        floats(quotes, "price"),
        vec![Some(3913.25), Some(3913.75), Some(3913.25), Some(3913.75)],
        "partial updates keep the book"
    );
    assert_eq!(floats(quotes, "size"), vec![None, None, Some(1236.0), None]);
    let bad = texts(&got["websocket_frames_unqualified"], "unqualified_reason");
    assert!(bad[0].starts_with("not JSON"), "{bad:?}");
    assert!(
        bad[1].contains("conid 1 is not in ibkr.instruments"),
        "{bad:?}"
    );
    s.shutdown().unwrap();
    let r = received.lock().unwrap().clone();
    assert!(r.len() >= 2, "the client reconnected: {r:?}");
    let sub = r#"smd+495512572+{"fields":["31","7059","84","88","86","85"]}"#;
    assert_eq!(r[0][0], sub);
    assert_eq!(r[1][0], sub, "and subscribed again");
    assert!(
        r[1].iter().any(|m| m == "tic"),
        "heartbeats keep the session alive"
    );
}

#[test]
fn a_slow_consumer_loses_nothing() {
    let n = 20_000;
    let frames: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"topic":"smd+495512572","conid":495512572,"_updated":{i},"31":"{}.25","7059":"1"}}"#, 4000 + i % 50))
        .collect();
    let (addr, _) = server(vec![Then::Flood(frames)], 1);
    let mut s = source(&options(addr, json!({ "queue": 64, "batch_size": 500 })));
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < n {
        assert!(Instant::now() < deadline, "{} of {n}", seen.len());
        if let Polled::Batch(b) = s.poll(Duration::from_millis(200)).unwrap() {
            seen.extend(ints(&[b.data], "updated_ms"));
            std::thread::sleep(Duration::from_millis(5)); // a slow consumer, on purpose
        }
    }
    assert_eq!(
        seen,
        (0..n as i64).collect::<Vec<_>>(),
        "every frame, in order, once"
    );
}

#[test]
fn bad_options_are_config_errors() {
    let lib = conformance::built_library("qdp_websocket").unwrap();
    for (bad, why) in [
        (json!({ "url": "http://x" }), "ws://"),
        (json!({ "url": "ws://x", "preset": "ibkr_cpapi" }), "[ibkr]"),
        (json!({ "url": "ws://x" }), "[generic]"),
        (
            json!({ "url": "ws://x", "max_wait": "soon", "generic": { "category": "c", "columns": { "p": { "pointer": "/p" } } } }),
            "max_wait",
        ),
    ] {
        let e = lib
            .instantiate(Kind::Source, &bad, &Context::default())
            .unwrap_err();
        assert!(e.message.contains(why), "{bad}: {e}");
    }
}

#[test]
fn the_websocket_source_conforms() {
    let (addr, _) = server(
        vec![Then::Forever(
            verbatim()
                .into_iter()
                .map(|f| f.replace("\"_updated\":1678", "\"_updated\":1"))
                .collect(),
        )],
        1,
    );
    let (quiet, _) = server(
        vec![Then::Forever(vec![
            r#"{"topic":"system","hb":1}"#.to_string(),
        ])],
        1,
    );
    conformance::source(
        conformance::built_library("qdp_websocket").unwrap(),
        options(addr, json!({ "batch_size": 50 })),
    )
    .bad_options(json!({ "url": "ws://x", "preset": "ibkr_cpapi" }))
    .bad_options(options(addr, json!({ "batch_size": 0 })))
    .empty_options(options(quiet, json!({})))
    .run()
    .assert_passed();
}

#[test]
fn generic_frames_pick_columns_by_pointer() {
    let frames = vec![
        r#"{"type":"trade","data":{"s":"CLZ6","p":"71.25","q":3,"t":1700000000123}}"#.to_string(),
        r#"{"type":"status","ok":true}"#.to_string(),
        r#"{"type":"trade","data":{"s":"CLZ6","p":"n/a","q":1,"t":1700000000124}}"#.to_string(),
    ];
    let (addr, _) = server(vec![Then::Flood(frames)], 1);
    let opts = json!({
        "url": format!("ws://{addr}"),
        "subscribe": ["{\"op\":\"subscribe\",\"channel\":\"trades\"}"],
        "max_wait": "20ms",
        "generic": {
            "category": "raw_vendor_trades",
            "only_if": { "pointer": "/type", "equals": "trade" },
            "columns": {
                "price": { "pointer": "/data/p", "type": "float64" },
                "size": { "pointer": "/data/q", "type": "int64" },
                "symbol": { "pointer": "/data/s" },
                "ts_ms": { "pointer": "/data/t", "type": "int64" },
            }
        }
    });
    let lib = conformance::built_library("qdp_websocket").unwrap();
    let mut s = lib
        .instantiate(Kind::Source, &opts, &Context::default())
        .unwrap();
    s.start(None).unwrap();
    let mut got: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&got, "raw_vendor_trades") < 1 || count(&got, "websocket_frames_unqualified") < 1 {
        assert!(Instant::now() < deadline);
        if let Polled::Batch(b) = s.poll(Duration::from_millis(200)).unwrap() {
            got.entry(b.category).or_default().push(b.data);
        }
    }
    let t = &got["raw_vendor_trades"];
    assert_eq!(floats(t, "price"), vec![Some(71.25)]);
    assert_eq!(ints(t, "ts_ms"), vec![1700000000123]);
    assert!(
        texts(&got["websocket_frames_unqualified"], "unqualified_reason")[0].contains("`price`")
    );
}

const IBKR_TICKS: &str = "raw_ibkr_cpapi_ticks";

/// A throwaway certificate for `localhost` made by the system's `openssl`.
fn self_signed(dir: &std::path::Path) -> (Vec<u8>, Vec<u8>) {
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
        ])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl must be installed to make a test certificate");
    assert!(status.success(), "openssl req failed");
    (
        std::fs::read(dir.join("cert.pem")).unwrap(),
        std::fs::read(dir.join("key.pem")).unwrap(),
    )
}

/// A `wss://` server with `cert`/`key` that answers every connection with
/// the recorded frames after the first subscription.
fn tls_server(cert: &[u8], key: &[u8]) -> SocketAddr {
    let identity = native_tls::Identity::from_pkcs8(cert, key).unwrap();
    let acceptor =
        tokio_native_tls::TlsAcceptor::from(native_tls::TlsAcceptor::new(identity).unwrap());
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let frames = verbatim();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let (acceptor, frames) = (acceptor.clone(), frames.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                        return;
                    };
                    let Some(Ok(Message::Text(_))) = ws.next().await else {
                        return;
                    };
                    for f in frames {
                        if ws.send(Message::text(f)).await.is_err() {
                            return;
                        }
                    }
                    while ws.next().await.is_some() {}
                });
            }
        });
    });
    addr_rx.recv().unwrap()
}

#[test]
fn a_wss_feed_is_read_when_its_certificate_is_trusted_and_refused_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let addr = tls_server(&cert, &key);
    let url = format!("wss://localhost:{}", addr.port());
    let ca = dir.path().join("cert.pem");
    let mut s = source(&options(
        addr,
        json!({ "url": url, "tls": { "ca_file": ca }, "max_wait": "20ms" }),
    ));
    let got = collect(&mut s, |m| {
        rows(m.get(IBKR_TICKS).map_or(&[][..], |v| v)) >= 2
    });
    assert_eq!(rows(&got[IBKR_TICKS]), 2, "both recorded frames over TLS");

    // The same feed without its certificate: the handshake fails and the
    // source keeps retrying, so nothing arrives.
    let mut untrusted = source(&options(addr, json!({ "url": url, "max_wait": "20ms" })));
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        assert!(
            matches!(
                untrusted.poll(Duration::from_millis(200)).unwrap(),
                Polled::Pending
            ),
            "rows from a server whose certificate nobody trusts"
        );
    }

    let lib = conformance::built_library("qdp_websocket").unwrap();
    for (tls, why) in [
        (json!({ "ca_file": "/nonexistent.pem" }), "cannot be read"),
        (
            json!({ "ca_file": dir.path().join("key.pem") }),
            "not a PEM certificate",
        ),
    ] {
        let e = lib
            .instantiate(
                Kind::Source,
                &options(addr, json!({ "url": url, "tls": tls })),
                &Context::default(),
            )
            .unwrap_err();
        assert!(e.to_string().contains(why), "{e}");
    }
    let e = lib
        .instantiate(
            Kind::Source,
            &options(addr, json!({ "tls": { "accept_invalid_certs": true } })),
            &Context::default(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("wss://"), "{e}");
}
