//! The `kafka` source: reads its topics as a member of a consumer group,
//! drops replayed producer writes, cuts batches, and commits offsets only
//! when the runtime acknowledges a batch (every sink downstream committed).
//!
//! A cut empties every table at once. The last batch of a cut carries the
//! new checkpoint; the others carry the previous one, so no checkpoint ever
//! covers a row that has not been emitted in or before its batch.

use crate::checkpoint::{MarkKey, State, Tp};
use crate::config::{Options, duration};
use crate::consumer::{
    Assignment, GroupContext, check_properties, consumer, kafka_error, validate,
};
use crate::decode::{self, Incoming, Kind, UNQUALIFIED};
use crate::table::Table;
use qdp_sdk::arrow::datatypes::SchemaRef;
use qdp_sdk::schema::registry;
use qdp_sdk::{
    Checkpoint, Context, Describe, OutputDecl, PluginError, Result, Source, SourceBatch,
};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaErrorCode;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Consumer_ = Arc<StreamConsumer<GroupContext>>;

/// The `kafka` source.
pub struct KafkaSource {
    o: Options,
    /// topic → category.
    categories: HashMap<String, String>,
    /// category → schema, when the category has one.
    schemas: HashMap<String, Option<SchemaRef>>,
    max_wait: Duration,
    shared: Arc<Mutex<Assignment>>,
    consumer: Option<Consumer_>,
    state: State,
    /// `state` as of the last cut: what has been emitted.
    emitted: State,
    /// `emitted` as checkpoint bytes.
    snapshot: Vec<u8>,
    tables: Vec<Table>,
    rejects: Vec<(Incoming, String)>,
    pending: usize,
    since: Option<Instant>,
    ready: VecDeque<SourceBatch>,
}

impl Describe for KafkaSource {
    type Options = Options;
    const NAME: &'static str = "kafka";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    /// Resumes from the group's committed offsets (or the checkpoint's,
    /// when those are ahead). Batch boundaries depend on timing, so replay
    /// is not deterministic.
    const CAPABILITIES: u64 = qdp_sdk::capabilities::RESUME;
}

/// The schema a category's rows have: its category schema, the reject
/// schema of `<category>_unqualified`, or unknown (raw categories).
fn schema_of(category: &str) -> Option<SchemaRef> {
    if let Some(s) = registry().get(category) {
        return Some(s.arrow_schema());
    }
    let base = category.strip_suffix("_unqualified")?;
    registry().get(base).map(|s| s.unqualified_schema())
}

impl Source for KafkaSource {
    fn new(o: Options, _ctx: &Context) -> Result<Self> {
        if o.brokers.trim().is_empty() || o.group_id.trim().is_empty() {
            return Err(PluginError::config(
                "brokers and group_id must not be empty",
            ));
        }
        if o.topics.is_empty() {
            return Err(PluginError::config("topics must name at least one topic"));
        }
        if o.batch_size == 0 {
            return Err(PluginError::config("batch_size must be at least 1"));
        }
        let max_wait = duration(&o.max_wait, "max_wait").map_err(PluginError::config)?;
        check_properties(&o.properties)?;
        let mut categories = HashMap::new();
        let mut schemas = HashMap::new();
        for t in &o.topics {
            let (topic, category) = t.pair();
            if topic.is_empty() || category.is_empty() {
                return Err(PluginError::config(
                    "topic and category names must not be empty",
                ));
            }
            if categories
                .insert(topic.to_string(), category.to_string())
                .is_some()
            {
                return Err(PluginError::config(format!(
                    "topic `{topic}` is listed twice"
                )));
            }
            schemas.insert(category.to_string(), schema_of(category));
        }
        let shared = Arc::new(Mutex::new(Assignment::default()));
        // Catches a bad property now, as a config error.
        validate(&o)?;
        Ok(Self {
            o,
            categories,
            schemas,
            max_wait,
            shared,
            consumer: None,
            state: State::default(),
            emitted: State::default(),
            snapshot: Vec::new(),
            tables: Vec::new(),
            rejects: Vec::new(),
            pending: 0,
            since: None,
            ready: VecDeque::new(),
        })
    }

    fn outputs(&self) -> Vec<OutputDecl> {
        let mut seen: Vec<&str> = Vec::new();
        let mut out = Vec::new();
        for t in &self.o.topics {
            let (_, category) = t.pair();
            if seen.contains(&category) {
                continue;
            }
            seen.push(category);
            out.push(OutputDecl {
                port: None,
                category: category.to_string(),
                schema: self.schemas.get(category).cloned().flatten(),
            });
        }
        out.push(OutputDecl::main(UNQUALIFIED, decode::rejects_schema()));
        out
    }

    async fn start(&mut self, checkpoint: Option<Checkpoint>) -> Result<()> {
        let restored = match checkpoint {
            Some(c) => Some(State::from_bytes(c.as_bytes()).map_err(PluginError::config)?),
            None => None,
        };
        let mut state = State {
            group: self.o.group_id.clone(),
            instance: RandomState::new().hash_one(Instant::now()),
            ..State::default()
        };
        let mut floors = HashMap::new();
        if let Some(r) = restored {
            state.marks = r.marks;
            if r.group == self.o.group_id {
                for (tp, (offset, _)) in r.positions {
                    floors.insert(tp.clone(), offset);
                    // Epoch 0 is never assigned: kept for the next
                    // checkpoint, never committed by this instance.
                    state.positions.insert(tp, (offset, 0));
                }
            }
        }
        self.shared.lock().unwrap_or_else(|p| p.into_inner()).floors = floors;
        self.state = state;
        self.emitted = self.state.clone();
        self.snapshot = self.state.to_bytes();
        let c = consumer(&self.o, Arc::clone(&self.shared))?;
        let topics: Vec<&str> = self.categories.keys().map(String::as_str).collect();
        c.subscribe(&topics)
            .map_err(|e| kafka_error("cannot subscribe", &e, &self.o.properties))?;
        self.consumer = Some(Arc::new(c));
        Ok(())
    }

    async fn next_batch(&mut self) -> Result<Option<SourceBatch>> {
        loop {
            if let Some(b) = self.ready.pop_front() {
                return Ok(Some(b));
            }
            self.forget_revoked();
            if self.due() {
                self.cut()?;
                continue;
            }
            let Some(c) = self.consumer.clone() else {
                return Err(PluginError::internal("next_batch before start"));
            };
            let deadline = self.since.map(|s| s + self.max_wait);
            let got = tokio::select! {
                m = c.recv() => Some(m.map(|m| detach(&m))),
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now).into()), if deadline.is_some() => None,
            };
            self.forget_revoked();
            match got {
                None => {}
                Some(Ok(m)) => self.take(m),
                Some(Err(KafkaError::MessageConsumption(code))) => {
                    // librdkafka reports and recovers by itself (a topic not
                    // created yet, a broker restarting).
                    tracing::warn!(error = %code, "Kafka consumer error");
                }
                Some(Err(e)) => {
                    return Err(kafka_error("Kafka consumer failed", &e, &self.o.properties));
                }
            }
        }
    }

    async fn ack(&mut self, checkpoint: Checkpoint) -> Result<()> {
        let st = State::from_bytes(checkpoint.as_bytes()).map_err(PluginError::config)?;
        let Some(c) = self.consumer.clone() else {
            return Ok(());
        };
        if st.instance != self.state.instance {
            return Ok(());
        }
        let tpl = {
            let a = self.shared.lock().unwrap_or_else(|p| p.into_inner());
            let mut tpl = TopicPartitionList::new();
            for ((t, p), (offset, epoch)) in &st.positions {
                if a.assigned.get(&(t.clone(), *p)) == Some(epoch) {
                    tpl.add_partition_offset(t, *p, Offset::Offset(*offset))
                        .map_err(|e| PluginError::internal(format!("offset list: {e}")))?;
                }
            }
            tpl
        };
        if tpl.count() == 0 {
            return Ok(());
        }
        let result = tokio::task::spawn_blocking(move || c.commit(&tpl, CommitMode::Sync))
            .await
            .map_err(|e| PluginError::internal(format!("commit task: {e}")))?;
        match result {
            Ok(()) => Ok(()),
            Err(KafkaError::ConsumerCommit(
                code @ (RDKafkaErrorCode::RebalanceInProgress
                | RDKafkaErrorCode::IllegalGeneration
                | RDKafkaErrorCode::UnknownMemberId
                | RDKafkaErrorCode::NotCoordinator),
            )) => {
                // The partitions moved; their new owner re-reads from the
                // last commit (at-least-once; sinks drop the duplicates).
                tracing::warn!(error = %code, "offset commit refused after a rebalance");
                Ok(())
            }
            Err(e) => Err(kafka_error("cannot commit offsets", &e, &self.o.properties)
                .with_context("group", &self.o.group_id)),
        }
    }

    async fn shutdown(&mut self) -> Result<()> {
        if let Some(c) = self.consumer.take() {
            // Leaving the group hands the partitions over at once.
            tokio::task::spawn_blocking(move || {
                c.unsubscribe();
                drop(c);
            })
            .await
            .map_err(|e| PluginError::internal(format!("close task: {e}")))?;
        }
        Ok(())
    }
}

/// A received message, owned, with its headers as text.
fn detach(m: &BorrowedMessage<'_>) -> Incoming {
    let mut headers = BTreeMap::new();
    if let Some(h) = m.headers() {
        for x in h.iter() {
            let v = x.value.map(|v| String::from_utf8_lossy(v).into_owned());
            headers.insert(x.key.to_string(), v.unwrap_or_default());
        }
    }
    Incoming {
        topic: m.topic().to_string(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        payload: m.payload().map(<[u8]>::to_vec),
        headers,
    }
}

/// Who wrote the message and which part of which batch it is, when it
/// carries the `kafka` sink's headers.
fn writer(m: &Incoming) -> Option<(MarkKey, u64, u64)> {
    let h = |k: &str| m.headers.get(k).cloned().unwrap_or_default();
    let seq = m.headers.get("qdp.seq")?.parse().ok()?;
    let part = m.headers.get("qdp.part")?.parse().ok()?;
    let key = (
        m.topic.clone(),
        m.partition,
        h("qdp.category"),
        h("qdp.pipeline"),
        h("qdp.origin"),
        h("qdp.producer"),
    );
    Some((key, seq, part))
}

impl KafkaSource {
    fn due(&self) -> bool {
        self.pending >= self.o.batch_size
            || self.since.is_some_and(|s| s.elapsed() >= self.max_wait)
    }

    fn take(&mut self, m: Incoming) {
        let tp: Tp = (m.topic.clone(), m.partition);
        let epoch = {
            let a = self.shared.lock().unwrap_or_else(|p| p.into_inner());
            a.assigned.get(&tp).copied().unwrap_or(0)
        };
        self.state.advance(tp, m.offset, epoch);
        if let Some((key, seq, part)) = writer(&m)
            && self.state.seen(key, seq, part)
        {
            return;
        }
        self.since.get_or_insert_with(Instant::now);
        let category = self.categories.get(&m.topic).cloned().unwrap_or_default();
        let schema = self.schemas.get(&category).cloned().flatten();
        let system = m
            .headers
            .get("qdp.source_system")
            .filter(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| self.o.source_system.clone());
        let empty = m
            .payload
            .as_deref()
            .is_none_or(|p| p.trim_ascii().is_empty());
        if empty {
            self.reject(m, "empty payload".into());
            return;
        }
        match decode::kind(self.o.format, &m) {
            Kind::Json => {
                self.table(&category, &system, schema).push_json(m);
                self.pending += 1;
            }
            Kind::Arrow => {
                match decode::arrow(m.payload.as_deref().unwrap_or_default(), schema.as_ref()) {
                    Ok(batches) => {
                        let t = self.table(&category, &system, schema);
                        let mut rows = 0;
                        for b in batches {
                            rows += b.num_rows();
                            t.push_arrow((m.topic.clone(), m.partition), b);
                        }
                        self.pending += rows;
                    }
                    Err(reason) => self.reject(m, reason),
                }
            }
        }
    }

    fn reject(&mut self, m: Incoming, reason: String) {
        self.rejects.push((m, reason));
        self.pending += 1;
    }

    fn table(&mut self, category: &str, system: &str, schema: Option<SchemaRef>) -> &mut Table {
        let i = match self
            .tables
            .iter()
            .position(|t| t.category == category && t.source_system == system)
        {
            Some(i) => i,
            None => {
                self.tables.push(Table::new(category, system, schema));
                self.tables.len() - 1
            }
        };
        &mut self.tables[i]
    }

    /// Empties every table into ready batches.
    fn cut(&mut self) -> Result<()> {
        let mut out: Vec<(String, String, qdp_sdk::arrow::array::RecordBatch)> = Vec::new();
        for t in &mut self.tables {
            let (batches, bad) = t.take()?;
            for b in batches {
                out.push((t.category.clone(), t.source_system.clone(), b));
            }
            self.rejects.extend(bad);
        }
        self.tables.clear();
        if !self.rejects.is_empty() {
            let b = decode::rejects(&self.rejects).map_err(PluginError::internal)?;
            out.push((UNQUALIFIED.to_string(), self.o.source_system.clone(), b));
            self.rejects.clear();
        }
        self.pending = 0;
        self.since = None;
        let new = self.state.to_bytes();
        let n = out.len();
        for (i, (category, source_system, data)) in out.into_iter().enumerate() {
            let ck = if i + 1 == n {
                new.clone()
            } else {
                self.snapshot.clone()
            };
            self.ready.push_back(SourceBatch {
                category,
                source_system,
                data,
                checkpoint: Checkpoint(ck),
            });
        }
        self.snapshot = new;
        self.emitted = self.state.clone();
        Ok(())
    }

    /// Partitions a rebalance took away: their rows not yet emitted are
    /// dropped and their position and dedup marks go back to what was
    /// emitted, so whoever reads them next (another member, or this one
    /// again from the committed offset) emits them once.
    fn forget_revoked(&mut self) {
        let revoked = {
            let mut a = self.shared.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut a.revoked)
        };
        if revoked.is_empty() {
            return;
        }
        for tp in &revoked {
            for t in &mut self.tables {
                t.drop_partition(tp);
            }
            self.rejects
                .retain(|(m, _)| m.topic != tp.0 || m.partition != tp.1);
            match self.emitted.positions.get(tp) {
                Some(p) => self.state.positions.insert(tp.clone(), *p),
                None => self.state.positions.remove(tp),
            };
            let of_tp = |k: &MarkKey| k.0 == tp.0 && k.1 == tp.1;
            self.state.marks.retain(|k, _| !of_tp(k));
            for (k, v) in self.emitted.marks.iter().filter(|(k, _)| of_tp(k)) {
                self.state.marks.insert(k.clone(), *v);
            }
        }
        self.tables.retain(|t| t.rows() > 0);
        self.pending = self.tables.iter().map(Table::rows).sum::<usize>() + self.rejects.len();
        if self.pending == 0 {
            self.since = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick_json(symbol: &str) -> Vec<u8> {
        format!(
            r#"{{"source_system_name":"sim","component_instance_name":"c","ingestion_time":"2026-03-02T14:30:00Z","exchange_code":"NYMEX","symbol_code":"{symbol}","symbol_type":"future","price":70.5,"price_unit":"1_USD","size":2.0,"size_unit":"1_contract","tick_time":"2026-03-02T14:30:00.5Z","open_interest":null,"open_interest_unit":null}}"#
        )
        .into_bytes()
    }

    fn msg(partition: i32, offset: i64, seq: u64) -> Incoming {
        let headers = [
            ("qdp.seq", seq.to_string()),
            ("qdp.part", "0".to_string()),
            ("qdp.origin", "o".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Incoming {
            topic: "derivatives_tick_market_data".into(),
            partition,
            offset,
            key: None,
            payload: Some(tick_json("CLF6")),
            headers,
        }
    }

    fn source() -> KafkaSource {
        let o: Options = serde_json::from_value(serde_json::json!({
            "brokers": "127.0.0.1:1",
            "group_id": "g",
            "topics": ["derivatives_tick_market_data"],
        }))
        .unwrap();
        let mut s = KafkaSource::new(o, &Context::default()).unwrap();
        let mut a = s.shared.lock().unwrap();
        a.assigned
            .insert(("derivatives_tick_market_data".into(), 0), 1);
        a.assigned
            .insert(("derivatives_tick_market_data".into(), 1), 2);
        drop(a);
        s.state.instance = 9;
        s.emitted = s.state.clone();
        s.snapshot = s.state.to_bytes();
        s
    }

    #[test]
    fn a_revoked_partition_forgets_what_was_not_emitted() {
        let mut s = source();
        s.take(msg(0, 10, 1));
        s.take(msg(1, 20, 1));
        s.cut().unwrap();
        assert_eq!(s.ready.len(), 1);
        s.take(msg(0, 11, 2));
        s.take(msg(1, 21, 2));
        assert_eq!(s.pending, 2);
        let tp0 = ("derivatives_tick_market_data".to_string(), 0);
        s.shared.lock().unwrap().revoked.push(tp0.clone());
        s.forget_revoked();
        // Partition 0 is back at what was emitted; partition 1 keeps its row.
        assert_eq!(s.pending, 1);
        assert_eq!(s.state.positions[&tp0], (11, 1));
        let mark = |st: &State, p: i32| st.marks.iter().find(|(k, _)| k.1 == p).map(|(_, v)| *v);
        assert_eq!(mark(&s.state, 0), Some((1, 0)));
        assert_eq!(mark(&s.state, 1), Some((2, 0)));
        // Read again (by this member, from the committed offset), the
        // dropped message is taken, not mistaken for a replay.
        s.take(msg(0, 11, 2));
        assert_eq!(s.pending, 2);
        s.cut().unwrap();
        let rows: usize = s.ready.iter().map(|b| b.data.num_rows()).sum();
        assert_eq!(rows, 4);
    }

    #[test]
    fn only_the_last_batch_of_a_cut_moves_the_checkpoint() {
        let mut s = source();
        s.take(msg(0, 10, 1));
        let mut bad = msg(0, 11, 2);
        bad.payload = Some(b"{oops".to_vec());
        s.take(bad);
        s.cut().unwrap();
        let b: Vec<SourceBatch> = s.ready.drain(..).collect();
        assert_eq!(b.len(), 2);
        assert_eq!(b[1].category, UNQUALIFIED);
        let first = State::from_bytes(b[0].checkpoint.as_bytes()).unwrap();
        let last = State::from_bytes(b[1].checkpoint.as_bytes()).unwrap();
        assert!(
            first.positions.is_empty(),
            "the first batch does not cover the reject"
        );
        assert_eq!(
            last.positions[&("derivatives_tick_market_data".to_string(), 0)],
            (12, 1)
        );
    }
}
