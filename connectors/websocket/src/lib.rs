//! `websocket`: a source plugin for JSON-over-WebSocket market data feeds.
//!
//! It connects (`ws://` or `wss://`), sends the configured subscription
//! messages, keeps the session alive with a heartbeat, reconnects with
//! exponential backoff and subscribes again, and turns frames into raw rows
//! of a preset (`generic`: columns picked by JSON pointer; `ibkr_cpapi`:
//! Interactive Brokers Client Portal `smd` streaming). Frames it cannot read
//! become rows of `websocket_frames_unqualified` with the reason. A `map`
//! transform then maps the raw rows onto a category schema. A live feed
//! cannot replay, so the source declares neither `RESUME` nor
//! `DETERMINISTIC_REPLAY`; put a disk buffer right after it.

#![forbid(unsafe_code)]

pub mod config;
mod conn;
pub mod decode;
pub mod dictionary;
mod table;

use config::{Options, Preset, duration};
use decode::{Decoder, GenericDecoder, IbkrDecoder, reject};
use qdp_sdk::{
    Checkpoint, Context, Describe, OutputDecl, PluginError, Result, Source, SourceBatch,
};
use std::time::Duration;
use table::Table;
use tokio::sync::{mpsc, watch};

/// The TLS connector for `wss://` when `tls` asks for more than the
/// system's roots; the CA file is read here so a wrong path is a config
/// error before anything runs.
fn tls_connector(o: &Options) -> Result<Option<native_tls::TlsConnector>> {
    let Some(t) = &o.tls else {
        return Ok(None);
    };
    if !o.url.starts_with("wss://") {
        return Err(PluginError::config(
            "tls applies to wss:// feeds only; remove [tls] or use a wss:// url",
        ));
    }
    let mut b = native_tls::TlsConnector::builder();
    if let Some(path) = &t.ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            PluginError::config(format!("tls.ca_file `{path}` cannot be read: {e}"))
        })?;
        let cert = native_tls::Certificate::from_pem(&pem).map_err(|e| {
            PluginError::config(format!(
                "tls.ca_file `{path}` is not a PEM certificate: {e}"
            ))
        })?;
        b.add_root_certificate(cert);
    }
    if t.accept_invalid_certs {
        b.danger_accept_invalid_certs(true);
    }
    b.build()
        .map(Some)
        .map_err(|e| PluginError::config(format!("tls: {e}")))
}

/// The `websocket` source.
pub struct WebSocket {
    conn: conn::Conn,
    queue: usize,
    decoder: Box<dyn Decoder>,
    tables: Vec<Table>,
    source_system: String,
    batch_size: usize,
    max_wait: Duration,
    rx: Option<mpsc::Receiver<conn::Frame>>,
    stop: Option<watch::Sender<bool>>,
    frames: u64,
}

impl Describe for WebSocket {
    type Options = Options;
    const NAME: &'static str = "websocket";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn dictionary() -> Vec<qdp_sdk::dictionary::FieldSource> {
        dictionary::dictionary()
    }
}

impl Source for WebSocket {
    fn new(o: Options, _ctx: &Context) -> Result<Self> {
        if !(o.url.starts_with("ws://") || o.url.starts_with("wss://")) {
            return Err(PluginError::config(format!(
                "url `{}` must start with ws:// or wss://",
                o.url
            )));
        }
        if o.batch_size == 0 || o.queue == 0 {
            return Err(PluginError::config(
                "batch_size and queue must be at least 1",
            ));
        }
        let d = |t: &str, k: &str| duration(t, k).map_err(PluginError::config);
        let backoff = (
            d(&o.reconnect_initial, "reconnect_initial")?,
            d(&o.reconnect_max, "reconnect_max")?,
        );
        let max_wait = d(&o.max_wait, "max_wait")?;
        let mut subscribe = o.subscribe.clone();
        let mut heartbeat = match &o.heartbeat {
            Some(h) => Some((h.message.clone(), d(&h.every, "heartbeat.every")?)),
            None => None,
        };
        let (decoder, default_system): (Box<dyn Decoder>, &str) = match o.preset {
            Preset::Generic => {
                let g = o.generic.clone().ok_or_else(|| {
                    PluginError::config(
                        "the generic preset needs a [generic] table: category and columns",
                    )
                })?;
                if g.columns.is_empty() {
                    return Err(PluginError::config(
                        "generic.columns must name at least one column",
                    ));
                }
                (Box::new(GenericDecoder::new(g)), "websocket")
            }
            Preset::IbkrCpapi => {
                let ib = o.ibkr.as_ref().ok_or_else(|| {
                    PluginError::config(
                        "the ibkr_cpapi preset needs an [ibkr] table with instruments by conid",
                    )
                })?;
                if ib.instruments.is_empty() {
                    return Err(PluginError::config(
                        "ibkr.instruments must name at least one conid",
                    ));
                }
                subscribe.extend(IbkrDecoder::subscriptions(ib));
                heartbeat.get_or_insert(("tic".into(), Duration::from_secs(55)));
                (Box::new(IbkrDecoder::new(ib)), "ibkr_cpapi")
            }
        };
        let tables = decoder.tables();
        Ok(Self {
            conn: conn::Conn {
                tls: tls_connector(&o)?,
                insecure: o.tls.as_ref().is_some_and(|t| t.accept_invalid_certs),
                url: o.url.clone(),
                subscribe,
                heartbeat,
                backoff,
            },
            queue: o.queue,
            decoder,
            tables,
            source_system: o
                .source_system
                .clone()
                .unwrap_or_else(|| default_system.to_string()),
            batch_size: o.batch_size,
            max_wait,
            rx: None,
            stop: None,
            frames: 0,
        })
    }

    /// Each category on its own port, so a pipeline can route them apart:
    /// `ID.ticks` and `ID.quotes` (IBKR preset), `ID` (generic preset) and
    /// `ID.unqualified` (frames that could not be read).
    fn outputs(&self) -> Vec<OutputDecl> {
        self.tables
            .iter()
            .map(|t| {
                let port = match t.category.as_str() {
                    decode::IBKR_TICKS => Some("ticks".to_string()),
                    decode::IBKR_QUOTES => Some("quotes".to_string()),
                    c if c.ends_with("_unqualified") => Some("unqualified".to_string()),
                    _ => None,
                };
                OutputDecl {
                    port,
                    ..OutputDecl::main(t.category.clone(), t.schema.clone())
                }
            })
            .collect()
    }

    async fn start(&mut self, _checkpoint: Option<Checkpoint>) -> Result<()> {
        // A live feed starts from now whatever the checkpoint says.
        let (tx, rx) = mpsc::channel(self.queue);
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(conn::run(self.conn.clone(), tx, stop_rx));
        self.rx = Some(rx);
        self.stop = Some(stop_tx);
        Ok(())
    }

    async fn next_batch(&mut self) -> Result<Option<SourceBatch>> {
        loop {
            if let Some(i) = self.ready() {
                return self.emit(i).map(Some);
            }
            let oldest = self.tables.iter().filter_map(|t| t.since).min();
            let Some(rx) = self.rx.as_mut() else {
                return Err(PluginError::internal("next_batch before start"));
            };
            tokio::select! {
                f = rx.recv() => match f {
                    Some(f) => self.take_frame(f),
                    None => {
                        return match self.tables.iter().position(|t| !t.is_empty()) {
                            Some(i) => self.emit(i).map(Some),
                            None => Ok(None),
                        };
                    }
                },
                _ = tokio::time::sleep_until(oldest.map_or_else(tokio::time::Instant::now, |t| (t + self.max_wait).into())), if oldest.is_some() => {}
            }
        }
    }

    async fn shutdown(&mut self) -> Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(true);
        }
        Ok(())
    }
}

impl WebSocket {
    /// A table that is full, or whose oldest row waited `max_wait`.
    fn ready(&self) -> Option<usize> {
        self.tables.iter().position(|t| {
            t.len() >= self.batch_size || t.since.is_some_and(|s| s.elapsed() >= self.max_wait)
        })
    }

    fn take_frame(&mut self, f: conn::Frame) {
        self.frames += 1;
        let rejects = self.tables.len() - 1;
        match self.decoder.decode(&f.text) {
            Ok(rows) => {
                for (i, row) in rows {
                    self.tables[i].push(row);
                }
            }
            Err(reason) => self.tables[rejects].push(reject(&f.text, f.received_ns, reason)),
        }
    }

    fn emit(&mut self, i: usize) -> Result<SourceBatch> {
        let t = &mut self.tables[i];
        Ok(SourceBatch {
            category: t.category.clone(),
            source_system: self.source_system.clone(),
            data: t.take()?,
            checkpoint: Checkpoint(self.frames.to_le_bytes().to_vec()),
            positions: Vec::new(),
        })
    }
}

qdp_sdk::export_source!(WebSocket);
