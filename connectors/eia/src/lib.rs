//! `eia`: a batch source plugin for the U.S. Energy Information
//! Administration's releases.
//!
//! * `mode = "api_v2"` reads series from EIA's API v2, page by page
//!   (`offset`/`length`), incrementally: the first pass from `start`, every
//!   later one from the last loaded period less `revisions` periods, so
//!   revised values are loaded again and upsert the old ones.
//! * `mode = "wpsr_csv"` reads the Weekly Petroleum Status Report tables EIA
//!   posts on ir.eia.gov ([`wpsr`]); a table whose bytes did not change since
//!   the last load is skipped.
//!
//! Both modes emit four ports (ADR 0002): `raw_object` (each document as
//! received, the API key replaced by `***`), `numeric_economic_data`,
//! `economic_data_releases` and `unqualified`. The runtime runs the source
//! in passes (`FINITE`), and the position lives in the checkpoint (`RESUME`).

#![forbid(unsafe_code)]

pub mod api;
pub mod checkpoint;
pub mod config;
pub mod dictionary;
pub mod http;
pub mod period;
pub mod rows;
pub mod values;
pub mod wpsr;

use checkpoint::{Cursor, State};
use config::{Checked, Mode, Options};
use http::{Fetched, Fetcher, Redactor};
use period::Period;
use qdp_sdk::raw::{RAW_OBJECT, RawObject, raw_object_schema, sha256_hex};
use qdp_sdk::{
    Checkpoint, Context, Describe, OutputDecl, PluginError, Result, Source, SourceBatch,
    capabilities,
};
use rows::{Common, Edition, NUMERIC, Number, RELEASES, Reject};
use std::collections::VecDeque;
use tokio::task::JoinHandle;

/// The `eia` source.
pub struct Eia {
    cfg: Checked,
    component: String,
    redact: Redactor,
    state: State,
    fetcher: Option<Fetcher>,
    /// The request in flight and its URL: it outlives a dropped `next_batch`.
    pending: Option<(String, JoinHandle<Result<Fetched>>)>,
    queue: VecDeque<SourceBatch>,
    next_url: usize,
    done: bool,
}

impl Describe for Eia {
    type Options = Options;
    const NAME: &'static str = "eia";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CAPABILITIES: u64 = capabilities::FINITE | capabilities::RESUME;

    fn dictionary() -> Vec<qdp_sdk::dictionary::FieldSource> {
        dictionary::dictionary()
    }
}

/// What one document gave, ready to be emitted.
struct Parsed {
    raw: RawObject,
    numbers: Vec<Number>,
    rejects: Vec<Reject>,
    editions: Vec<Edition>,
}

impl Source for Eia {
    fn new(options: Options, ctx: &Context) -> Result<Self> {
        let cfg = options.check()?;
        Ok(Self {
            redact: Redactor::new(&cfg.api_key),
            cfg,
            component: ctx.component_id.clone(),
            state: State::default(),
            fetcher: None,
            pending: None,
            queue: VecDeque::new(),
            next_url: 0,
            done: true,
        })
    }

    /// One port per category: `raw_object`, `numeric_economic_data`,
    /// `economic_data_releases`, and `unqualified`.
    fn outputs(&self) -> Vec<OutputDecl> {
        let mut out = vec![OutputDecl {
            port: Some(RAW_OBJECT.into()),
            category: RAW_OBJECT.into(),
            schema: Some(raw_object_schema()),
        }];
        for category in [NUMERIC, RELEASES] {
            out.push(OutputDecl {
                port: Some(category.into()),
                category: category.into(),
                schema: rows::schema(category).ok(),
            });
        }
        out.push(OutputDecl {
            port: Some("unqualified".into()),
            category: rows::unqualified(),
            schema: rows::unqualified_schema().ok(),
        });
        out
    }

    async fn start(&mut self, checkpoint: Option<Checkpoint>) -> Result<()> {
        self.state = State::from_checkpoint(checkpoint.as_ref())?;
        self.queue.clear();
        self.abort_pending();
        self.next_url = 0;
        self.fetcher = Some(Fetcher::new(self.cfg.pacing, self.redact.clone())?);
        match self.cfg.mode {
            Mode::ApiV2 => {
                let resumable = self.state.cursor.as_ref().is_some_and(|c| {
                    self.cfg
                        .series
                        .get(c.series)
                        .is_some_and(|s| s.key() == c.key)
                });
                if !resumable {
                    self.state.cursor = self.cursor_at(0);
                }
                self.done = self.state.cursor.is_none();
            }
            Mode::WpsrCsv => {
                self.state.cursor = None;
                self.done = self.cfg.urls.is_empty();
            }
        }
        Ok(())
    }

    async fn next_batch(&mut self) -> Result<Option<SourceBatch>> {
        loop {
            if let Some(b) = self.queue.pop_front() {
                return Ok(Some(b));
            }
            if self.done {
                return Ok(None);
            }
            match self.cfg.mode {
                Mode::ApiV2 => self.api_page().await?,
                Mode::WpsrCsv => self.wpsr_table().await?,
            }
        }
    }

    async fn shutdown(&mut self) -> Result<()> {
        self.abort_pending();
        Ok(())
    }
}

impl Eia {
    /// The cursor at the first page of series `i`, when there is one.
    fn cursor_at(&self, i: usize) -> Option<Cursor> {
        let s = self.cfg.series.get(i)?;
        let key = s.key();
        let start = match self
            .state
            .last_period
            .get(&key)
            .and_then(|p| Period::parse(p))
        {
            Some(last) => last
                .back(self.cfg.revisions, &s.frequency)
                .map(|p| p.to_string()),
            None => self.cfg.start.clone(),
        };
        Some(Cursor {
            series: i,
            key,
            offset: 0,
            start,
        })
    }

    fn abort_pending(&mut self) {
        if let Some((_, h)) = self.pending.take() {
            h.abort();
        }
    }

    /// The response to `url`: starts the request unless it is already in
    /// flight, then waits for it. Cancel-safe: a dropped wait leaves the
    /// request running for the next call.
    async fn fetch(&mut self, url: &str, check: http::Check) -> Result<Fetched> {
        if self.pending.as_ref().is_none_or(|(u, _)| u != url) {
            self.abort_pending();
            let f = self
                .fetcher
                .as_ref()
                .ok_or_else(|| PluginError::internal("next_batch before start"))?;
            self.pending = Some((url.to_string(), f.spawn(url.to_string(), check)));
        }
        let Some((_, handle)) = self.pending.as_mut() else {
            return Err(PluginError::internal("no request in flight"));
        };
        let joined = handle.await;
        self.pending = None;
        joined.map_err(|e| PluginError::internal(format!("request task: {e}")))?
    }

    /// Fetches the page at the cursor and queues its batches. Nothing
    /// changes before the response is in, so a cancelled call loses nothing.
    async fn api_page(&mut self) -> Result<()> {
        let Some(cur) = self.state.cursor.clone() else {
            self.done = true;
            return Ok(());
        };
        let s = self
            .cfg
            .series
            .get(cur.series)
            .cloned()
            .ok_or_else(|| PluginError::internal("cursor past the series list"))?;
        let url = api::page_url(
            &self.cfg.base_url,
            &s,
            cur.start.as_deref(),
            cur.offset,
            self.cfg.length,
        );
        let request = api::with_key(&url, &self.cfg.api_key);
        let before = self.state.to_checkpoint();
        let fetched = self.fetch(&request, api::check_complete).await?;
        // The lake must never hold a secret: live responses echo the key in
        // `request.params`, so it is replaced by `***` before anything
        // reads or keeps the document.
        let body = self.redact.bytes(&fetched.body);
        let page = api::parse_page(&body, &s);
        let incomplete = page.warnings.iter().any(|w| w.contains("incomplete"));
        tracing::info!(
            url = %url,
            rows = page.rows,
            numbers = page.numbers.len(),
            not_available = page.not_available,
            unqualified = page.rejects.len(),
            total = page.total,
            incomplete,
            "eia page"
        );
        if let Some(p) = &page.max_period {
            let last = self.state.last_period.entry(cur.key.clone()).or_default();
            if *p > *last {
                *last = p.clone();
            }
        }
        let more = page.rows > 0 && (page.rows >= self.cfg.length || incomplete);
        self.state.cursor = if more {
            Some(Cursor {
                offset: cur.offset + page.rows,
                ..cur
            })
        } else {
            self.cursor_at(cur.series + 1)
        };
        self.done = self.state.cursor.is_none();
        let parsed = Parsed {
            raw: RawObject {
                source_system: self.cfg.source_system.clone(),
                object_name: url,
                extension: "json".into(),
                received_time_ns: fetched.received_ns,
                content: body,
            },
            numbers: page.numbers,
            rejects: page.rejects,
            editions: page.editions,
        };
        self.enqueue(parsed, before)
    }

    /// Fetches the next table and queues its batches, unless its bytes are
    /// the ones loaded last time.
    async fn wpsr_table(&mut self) -> Result<()> {
        let Some(url) = self.cfg.urls.get(self.next_url).cloned() else {
            self.done = true;
            return Ok(());
        };
        let before = self.state.to_checkpoint();
        let check = if self.cfg.end_marker {
            wpsr::check_complete
        } else {
            http::any_body
        };
        let fetched = self.fetch(&url, check).await?;
        self.next_url += 1;
        self.done = self.next_url >= self.cfg.urls.len();
        let sha = sha256_hex(&fetched.body);
        let table = wpsr::parse(&fetched.body, &url);
        if self.state.files.get(&url) == Some(&sha) {
            // Loaded before: only the editions go out again (a few rows,
            // upserted unchanged), so a scheduler that restarted after the
            // load but before it recorded the release still sees it.
            tracing::info!(url = %url, "eia table unchanged since the last load");
            if !table.editions.is_empty() {
                let common = self.common();
                self.queue.push_back(SourceBatch {
                    category: RELEASES.into(),
                    source_system: self.cfg.source_system.clone(),
                    data: rows::editions(&common, &table.editions)?,
                    checkpoint: before,
                    positions: Vec::new(),
                });
            }
            return Ok(());
        }
        tracing::info!(
            url = %url,
            numbers = table.numbers.len(),
            not_available = table.not_available,
            unqualified = table.rejects.len(),
            "eia table"
        );
        self.state.files.insert(url.clone(), sha);
        let parsed = Parsed {
            raw: RawObject {
                source_system: self.cfg.source_system.clone(),
                object_name: url,
                extension: "csv".into(),
                received_time_ns: fetched.received_ns,
                content: fetched.body,
            },
            numbers: table.numbers,
            rejects: table.rejects,
            editions: table.editions,
        };
        self.enqueue(parsed, before)
    }

    /// What every row of this source carries.
    fn common(&self) -> Common {
        Common {
            source_system: self.cfg.source_system.clone(),
            component: self.component.clone(),
            ingestion_ns: chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        }
    }

    /// Queues the batches of one document. Every batch but the last carries
    /// the position before the document, the last one the position after
    /// it: a restart from any of them loses nothing of the document.
    fn enqueue(&mut self, p: Parsed, before: Checkpoint) -> Result<()> {
        let common = self.common();
        let mut batches = vec![(RAW_OBJECT.to_string(), qdp_sdk::raw::to_batch(&[p.raw])?)];
        if !p.numbers.is_empty() {
            batches.push((NUMERIC.into(), rows::numbers(&common, &p.numbers)?));
        }
        if !p.rejects.is_empty() {
            batches.push((rows::unqualified(), rows::rejects(&common, &p.rejects)?));
        }
        if !p.editions.is_empty() {
            batches.push((RELEASES.into(), rows::editions(&common, &p.editions)?));
        }
        let after = self.state.to_checkpoint();
        let last = batches.len() - 1;
        for (i, (category, data)) in batches.into_iter().enumerate() {
            self.queue.push_back(SourceBatch {
                category,
                source_system: self.cfg.source_system.clone(),
                data,
                checkpoint: if i == last {
                    after.clone()
                } else {
                    before.clone()
                },
                positions: Vec::new(),
            });
        }
        Ok(())
    }
}

qdp_sdk::export_source!(Eia);
