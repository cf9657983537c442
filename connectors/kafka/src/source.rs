//! The `kafka` source: reads its topics as a member of a consumer group,
//! hands messages to [`Pending`] (dedup, decoding, batches), and commits
//! offsets only when the runtime acknowledges a batch (every sink
//! downstream committed).

use crate::checkpoint::{State, Tp};
use crate::config::{Options, duration};
use crate::consumer::{
    Assignment, GroupContext, check_properties, consumer, kafka_error, validate,
};
use crate::decode::{self, Incoming, UNQUALIFIED};
use crate::pending::{Cutting, Pending};
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
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::Instant;

type Consumer_ = Arc<StreamConsumer<GroupContext>>;

/// The `kafka` source.
pub struct KafkaSource {
    o: Options,
    /// topic → category.
    categories: HashMap<String, String>,
    /// category → schema, when the category has one.
    schemas: HashMap<String, Option<SchemaRef>>,
    shared: Arc<Mutex<Assignment>>,
    consumer: Option<Consumer_>,
    pending: Pending,
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
        let pending = Pending::new(
            categories.clone(),
            schemas.clone(),
            Cutting {
                format: o.format,
                source_system: o.source_system.clone(),
                batch_size: o.batch_size,
                max_wait,
            },
        );
        Ok(Self {
            o,
            categories,
            schemas,
            shared,
            consumer: None,
            pending,
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
        self.pending.reset(state);
        let c = consumer(&self.o, Arc::clone(&self.shared))?;
        let topics: Vec<&str> = self.categories.keys().map(String::as_str).collect();
        c.subscribe(&topics)
            .map_err(|e| kafka_error("cannot subscribe", &e, &self.o.properties))?;
        self.consumer = Some(Arc::new(c));
        Ok(())
    }

    async fn next_batch(&mut self) -> Result<Option<SourceBatch>> {
        loop {
            if let Some(b) = self.pending.pop() {
                return Ok(Some(b));
            }
            self.forget_revoked();
            if self.pending.due() {
                self.pending.cut()?;
                continue;
            }
            let Some(c) = self.consumer.clone() else {
                return Err(PluginError::internal("next_batch before start"));
            };
            let deadline = self.pending.deadline();
            let got = tokio::select! {
                m = c.recv() => Some(m.map(|m| detach(&m))),
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now).into()), if deadline.is_some() => None,
            };
            self.forget_revoked();
            match got {
                None => {}
                Some(Ok(m)) => {
                    let epoch = self.epoch(&(m.topic.clone(), m.partition));
                    self.pending.take(m, epoch);
                }
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
        if st.instance != self.pending.state.instance {
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

impl KafkaSource {
    fn lock(&self) -> std::sync::MutexGuard<'_, Assignment> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The assignment epoch of `tp` (0, never committed, if not assigned).
    fn epoch(&self, tp: &Tp) -> u64 {
        self.lock().assigned.get(tp).copied().unwrap_or(0)
    }

    /// Applies what rebalances took away since the last look.
    fn forget_revoked(&mut self) {
        let revoked = std::mem::take(&mut self.lock().revoked);
        self.pending.forget(&revoked);
    }
}
