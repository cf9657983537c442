//! One pass: every configured document fetched, read past its watermark,
//! and turned into batches whose checkpoints carry the new watermark.

use crate::checkpoint::{ObjectState, Partial, State};
use crate::config::{Options, contract_code, parse_day};
use crate::family::Family;
use crate::record::{Filter, Parsed, Reject};
use crate::tables::{self, Stamp};
use crate::{FILES_SYSTEM, SOCRATA_SYSTEM, fetch, socrata, text};
use chrono::{Datelike, Duration, NaiveDate, Utc};
use qdp_sdk::calendar::ReleaseCalendar;
use qdp_sdk::raw::{self, RAW_OBJECT, RawObject};
use qdp_sdk::{Result, SourceBatch};
use std::collections::VecDeque;

/// One document to read.
#[derive(Debug, Clone)]
pub enum Job {
    /// A yearly file: its family and URL or path (`{year}` expanded).
    File {
        family: Family,
        location: String,
        remote: bool,
    },
    /// A Socrata dataset.
    Socrata { family: Family, dataset: String },
}

/// A pass's settings and the state it has committed so far.
pub struct Pass {
    o: Options,
    component: String,
    client: reqwest::Client,
    /// The watermark after the documents finished in this pass.
    pub state: State,
}

/// A fetched document: what the lake keeps and what was read from it.
struct Document {
    family: Family,
    name: String,
    system: &'static str,
    raws: Vec<RawObject>,
    sha256: String,
    parsed: Parsed,
}

/// The year of the newest report date already published: `{year}` in
/// file addresses, so early January still reads last year's file until the
/// first report of the new year is out.
pub fn current_year() -> i32 {
    let cal = ReleaseCalendar::CftcCot;
    let now = Utc::now();
    let mut period = cal.period_of(now.date_naive());
    if cal.release_time(period) > now {
        period -= Duration::days(7);
    }
    period.year()
}

impl Pass {
    /// A pass with nothing loaded yet.
    pub fn new(o: Options, component: String, client: reqwest::Client) -> Self {
        Self {
            o,
            component,
            client,
            state: State::default(),
        }
    }

    /// The documents to read, in configuration order.
    pub fn jobs(&self) -> Result<VecDeque<Job>> {
        let year = current_year().to_string();
        let mut out = VecDeque::new();
        for f in &self.o.files {
            out.push_back(Job::File {
                family: f.family,
                location: f.location()?.replace("{year}", &year),
                remote: f.url.is_some(),
            });
        }
        if let Some(s) = &self.o.socrata {
            for (family, dataset) in s.datasets()? {
                out.push_back(Job::Socrata { family, dataset });
            }
        }
        Ok(out)
    }

    fn filter(&self, last: Option<NaiveDate>) -> Filter {
        Filter {
            contracts: self
                .o
                .contracts
                .iter()
                .filter_map(|c| contract_code(c))
                .collect(),
            after: last,
            again_from: last.and_then(|l| socrata::again_from(l, self.o.revisions)),
            since: self.o.since.as_deref().and_then(parse_day),
        }
    }

    fn last_of(&self, name: &str) -> Option<NaiveDate> {
        self.state.objects.get(name).and_then(ObjectState::last)
    }

    /// Reads one document; its batches, in order, the last one carrying the
    /// new watermark. Changes `self.state` only after every await.
    pub async fn run(&mut self, job: &Job) -> Result<Vec<SourceBatch>> {
        let doc = match job {
            Job::File {
                family,
                location,
                remote,
            } => self.file(*family, location, *remote).await?,
            Job::Socrata { family, dataset } => self.socrata(*family, dataset).await?,
        };
        let Some(doc) = doc else {
            return Ok(Vec::new());
        };
        self.batches(doc)
    }

    async fn file(&self, family: Family, location: &str, remote: bool) -> Result<Option<Document>> {
        // The watermark is keyed by the configured address, which a redirect
        // does not change; the raw object is named by where it came from.
        let name = fetch::redact(location);
        let (received_as, bytes) = if remote {
            fetch::get(&self.client, location, None).await?
        } else {
            (location.to_string(), fetch::read(location).await?)
        };
        let sha256 = raw::sha256_hex(&bytes);
        if self
            .state
            .objects
            .get(&name)
            .is_some_and(|o| o.sha256 == sha256)
        {
            tracing::info!(object = %name, "cftc: unchanged since the last pass, nothing to emit");
            return Ok(None);
        }
        let filter = self.filter(self.last_of(&name));
        let parsed = match text::unzip(&bytes) {
            Ok(txt) => text::parse(family, &txt, &filter),
            Err(reason) => Parsed {
                rejects: vec![Reject {
                    reason,
                    ..Reject::default()
                }],
                ..Parsed::default()
            },
        };
        let extension = if text::is_zip(&bytes) { "zip" } else { "txt" };
        Ok(Some(Document {
            family,
            system: FILES_SYSTEM,
            raws: vec![raw_object(FILES_SYSTEM, &received_as, extension, bytes)],
            name,
            sha256,
            parsed,
        }))
    }

    async fn socrata(&self, family: Family, dataset: &str) -> Result<Option<Document>> {
        let Some(spec) = &self.o.socrata else {
            return Ok(None);
        };
        let name = format!(
            "{}/resource/{dataset}.json",
            spec.base_url.trim_end_matches('/')
        );
        let filter = self.filter(self.last_of(&name));
        let mut parsed = Parsed::default();
        let mut raws = Vec::new();
        let mut offset = 0usize;
        loop {
            let mut url = reqwest::Url::parse(&name)
                .map_err(|e| qdp_sdk::PluginError::config(format!("socrata.base_url: {e}")))?;
            {
                let mut q = url.query_pairs_mut();
                if let Some(w) = socrata::where_clause(&filter) {
                    q.append_pair("$where", &w);
                }
                q.append_pair(
                    "$order",
                    "report_date_as_yyyy_mm_dd,cftc_contract_market_code,id",
                );
                q.append_pair("$limit", &spec.page_size.to_string());
                q.append_pair("$offset", &offset.to_string());
            }
            let (page_name, body) =
                fetch::get(&self.client, url.as_str(), spec.app_token.as_deref()).await?;
            let rows = socrata::page_rows(&body)
                .map_err(|e| qdp_sdk::PluginError::external(format!("GET {page_name}: {e}")))?;
            if rows.is_empty() && offset > 0 {
                break;
            }
            if rows.is_empty() {
                return Ok(None);
            }
            socrata::parse_page(family, &rows, offset as u64 + 1, &filter, &mut parsed);
            raws.push(raw_object(SOCRATA_SYSTEM, &page_name, "json", body));
            offset += rows.len();
            if rows.len() < spec.page_size {
                break;
            }
        }
        let joined: String = raws.iter().map(RawObject::sha256_hex).collect();
        Ok(Some(Document {
            family,
            name,
            system: SOCRATA_SYSTEM,
            sha256: raw::sha256_hex(joined.as_bytes()),
            raws,
            parsed,
        }))
    }

    fn batches(&mut self, doc: Document) -> Result<Vec<SourceBatch>> {
        let p = &doc.parsed;
        if p.missing > 0 || !p.rejects.is_empty() {
            tracing::info!(
                object = %doc.name,
                values = p.values.len(),
                missing = p.missing,
                rejected = p.rejects.len(),
                insane = p.insane,
                "cftc: read with values not published ('.') skipped and rejects sent to unqualified"
            );
        }
        let stamp = Stamp {
            source_system: doc.system,
            component: &self.component,
            object_name: &doc.name,
            family: doc.family,
            now: Utc::now(),
        };
        let mut data = vec![(RAW_OBJECT, raw::to_batch(&doc.raws)?)];
        for chunk in p.values.chunks(self.o.batch_size) {
            data.push((tables::NUMERIC, tables::numeric(&stamp, chunk)?));
        }
        if !p.editions.is_empty() {
            let dates: Vec<NaiveDate> = p.editions.iter().copied().collect();
            data.push((tables::RELEASES, tables::releases(&stamp, &dates)?));
        }
        for chunk in p.rejects.chunks(self.o.batch_size) {
            data.push((tables::UNQUALIFIED, tables::unqualified(&stamp, chunk)?));
        }
        let before = self.state.clone();
        let mut after = before.clone();
        if after
            .partial
            .as_ref()
            .is_some_and(|part| part.object == doc.name)
        {
            after.partial = None;
        }
        let last = self.last_of(&doc.name).max(p.newest);
        after.objects.insert(
            doc.name.clone(),
            ObjectState {
                family: doc.family,
                last_report_date: last.map(|d| d.format("%Y-%m-%d").to_string()),
                sha256: doc.sha256.clone(),
            },
        );
        let skip = match &before.partial {
            Some(part) if part.object == doc.name && part.sha256 == doc.sha256 => part.emitted,
            _ => 0,
        };
        let total = data.len();
        let mut out = Vec::with_capacity(total);
        for (i, (category, batch)) in data.into_iter().enumerate() {
            let checkpoint = if i + 1 == total {
                after.to_checkpoint()?
            } else {
                let mut mid = before.clone();
                mid.partial = Some(Partial {
                    object: doc.name.clone(),
                    sha256: doc.sha256.clone(),
                    emitted: i + 1,
                });
                mid.to_checkpoint()?
            };
            if i < skip {
                continue;
            }
            out.push(SourceBatch {
                category: category.to_string(),
                source_system: doc.system.to_string(),
                data: batch,
                checkpoint,
                positions: Vec::new(),
            });
        }
        self.state = after;
        Ok(out)
    }
}

fn raw_object(system: &str, name: &str, extension: &str, content: Vec<u8>) -> RawObject {
    RawObject {
        source_system: system.to_string(),
        object_name: name.to_string(),
        extension: extension.to_string(),
        received_time_ns: Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        content,
    }
}
