//! The `kafka` sink: resolves each batch's topic and key, encodes it, sends
//! every message with its dedup headers, and returns only once the broker
//! has acknowledged them all.

use crate::client::{admin, check_properties, create_topic, kafka_error, producer};
use crate::config::{KafkaSinkOptions, duration, valid_topic};
use crate::encode::{Message, encode};
use crate::headers;
use qdp_sdk::arrow::array::RecordBatch;
use qdp_sdk::schema::registry;
use qdp_sdk::{Batch, Context, Describe, PluginError, Result, Sink};
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// Where a batch's rows go and whose rows they are: the key of the
/// in-process "already delivered" marks.
type Stream = (String, String, String, String);

/// The sink.
pub struct KafkaSink {
    o: KafkaSinkOptions,
    pipeline: String,
    delivery_timeout: Duration,
    producer: Option<FutureProducer>,
    admin: Option<AdminClient<DefaultClientContext>>,
    topics: HashSet<String>,
    /// Highest batch number this instance has had fully acknowledged per
    /// (topic, category, origin, producer): a retried call skips those
    /// batches instead of sending them again.
    delivered: HashMap<Stream, u64>,
}

impl Describe for KafkaSink {
    type Options = KafkaSinkOptions;
    const NAME: &'static str = "kafka";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    /// A replayed write lands again in the log, but with the same
    /// `(qdp.pipeline, qdp.origin, qdp.producer, qdp.seq, qdp.part)`
    /// headers, which the `kafka` source (or any reader) drops.
    const CAPABILITIES: u64 = qdp_sdk::capabilities::IDEMPOTENT_WRITE;
}

impl Sink for KafkaSink {
    fn new(o: KafkaSinkOptions, ctx: &Context) -> Result<Self> {
        if o.brokers.trim().is_empty() {
            return Err(PluginError::config(
                "brokers must name at least one host:port",
            ));
        }
        let sample = o
            .topic
            .replace("{category}", "c")
            .replace("{source_system}", "s");
        if !valid_topic(&sample) {
            return Err(PluginError::config(format!(
                "topic `{}` does not make a legal Kafka topic name (letters, digits, `.`, `_`, `-`; placeholders {{category}} and {{source_system}})",
                o.topic
            )));
        }
        if let Some((cat, t)) = o
            .categories
            .iter()
            .find_map(|(c, v)| v.topic.as_ref().filter(|t| !valid_topic(t)).map(|t| (c, t)))
        {
            return Err(PluginError::config(format!(
                "categories.{cat}.topic `{t}` is not a legal Kafka topic name"
            )));
        }
        if o.partitions < 1 || o.replication_factor < 1 {
            return Err(PluginError::config(
                "partitions and replication_factor must be at least 1",
            ));
        }
        if o.max_message_bytes < 1024 {
            return Err(PluginError::config(
                "max_message_bytes must be at least 1024",
            ));
        }
        let delivery_timeout =
            duration(&o.delivery_timeout, "delivery_timeout").map_err(PluginError::config)?;
        check_properties(&o.properties)?;
        // Catches a bad property now, as a config error, rather than at open.
        drop(producer(&o, delivery_timeout)?);
        Ok(Self {
            o,
            pipeline: ctx.pipeline.clone(),
            delivery_timeout,
            producer: None,
            admin: None,
            topics: HashSet::new(),
            delivered: HashMap::new(),
        })
    }

    async fn open(&mut self) -> Result<()> {
        let p = self.connect()?;
        let timeout = self.delivery_timeout;
        let props = self.o.properties.clone();
        tokio::task::spawn_blocking(move || {
            p.client()
                .fetch_metadata(None, timeout)
                .map(drop)
                .map_err(|e| kafka_error("cannot reach the Kafka brokers", &e, &props))
        })
        .await
        .map_err(|e| PluginError::internal(format!("metadata task: {e}")))?
        .map_err(|e| e.with_context("brokers", &self.o.brokers))
    }

    async fn write(&mut self, batches: &[Batch]) -> Result<()> {
        let producer = self.connect()?;
        let mut inflight: VecDeque<(DeliveryFuture, String)> = VecDeque::new();
        let mut failed: Option<PluginError> = None;
        let mut sent: Vec<(Stream, u64)> = Vec::new();
        let mut seen: HashSet<(Stream, u64)> = HashSet::new();
        for b in batches.iter().filter(|b| b.data.num_rows() > 0) {
            let topic = self.topic(&b.meta.category, &b.meta.source_system)?;
            let stream = (
                topic.clone(),
                b.meta.category.clone(),
                b.meta.origin.clone(),
                b.meta.producer.clone(),
            );
            let done = self
                .delivered
                .get(&stream)
                .is_some_and(|m| b.meta.seq <= *m);
            if done || !seen.insert((stream.clone(), b.meta.seq)) {
                continue;
            }
            self.ensure_topic(&topic).await?;
            let key = self.key_column(b)?;
            let data = with_category_metadata(&b.data, &b.meta.category);
            let messages = encode(&data, self.o.format, key, self.o.max_message_bytes)
                .map_err(|e| e.with_context("category", &b.meta.category))?;
            for (part, m) in messages.iter().enumerate() {
                let h = headers::of(b, &self.pipeline, part, m.rows, self.o.format);
                let f = send(&producer, &topic, m, h, &mut inflight, &mut failed).await?;
                inflight.push_back((f, topic.clone()));
            }
            sent.push((stream, b.meta.seq));
        }
        while let Some((f, topic)) = inflight.pop_front() {
            settle(f, &topic, &mut failed).await;
        }
        if let Some(e) = failed {
            // The retried call gets a new producer (a new producer id): an
            // idempotent producer whose messages timed out would otherwise
            // bump its epoch, which tansu 0.6 cannot serve, and one that
            // failed fatally cannot send again at all.
            if let Some((code, why)) = producer.client().fatal_error() {
                tracing::warn!(%code, reason = %why, "Kafka producer failed fatally");
            }
            self.producer = None;
            return Err(e);
        }
        for (stream, seq) in sent {
            let m = self.delivered.entry(stream).or_insert(seq);
            *m = (*m).max(seq);
        }
        Ok(())
    }

    async fn shutdown(&mut self) -> Result<()> {
        // Every write already awaited its acknowledgements; nothing is queued.
        if let Some(p) = self.producer.take() {
            p.flush(self.delivery_timeout)
                .map_err(|e| kafka_error("flush", &e, &self.o.properties))?;
        }
        self.admin = None;
        Ok(())
    }
}

impl KafkaSink {
    fn connect(&mut self) -> Result<FutureProducer> {
        if let Some(p) = &self.producer {
            return Ok(p.clone());
        }
        let p = producer(&self.o, self.delivery_timeout)?;
        self.producer = Some(p.clone());
        Ok(p)
    }

    fn topic(&self, category: &str, source_system: &str) -> Result<String> {
        let t = match self
            .o
            .categories
            .get(category)
            .and_then(|c| c.topic.clone())
        {
            Some(t) => t,
            None => self
                .o
                .topic
                .replace("{category}", category)
                .replace("{source_system}", source_system),
        };
        if !valid_topic(&t) {
            return Err(PluginError::config(format!(
                "topic `{t}` for category `{category}` is not a legal Kafka topic name"
            )));
        }
        Ok(t)
    }

    async fn ensure_topic(&mut self, topic: &str) -> Result<()> {
        if !self.o.create_topics || self.topics.contains(topic) {
            return Ok(());
        }
        if self.admin.is_none() {
            self.admin = Some(admin(&self.o)?);
        }
        if let Some(a) = &self.admin {
            create_topic(a, &self.o, topic, self.delivery_timeout).await?;
            tracing::debug!(topic, "Kafka topic ready");
        }
        self.topics.insert(topic.to_string());
        Ok(())
    }

    /// The key column: the category's override, the `key` option, the
    /// designated identifier (from the schema metadata, or for rejects from
    /// their category schema), then `fallback_key`; the first one present.
    fn key_column(&self, b: &Batch) -> Result<Option<usize>> {
        let schema = b.data.schema();
        let category = &b.meta.category;
        if let Some(k) = self.o.categories.get(category).and_then(|c| c.key.as_ref()) {
            return schema.index_of(k).map(Some).map_err(|_| {
                PluginError::config(format!(
                    "categories.{category}.key: the batch has no column `{k}`"
                ))
            });
        }
        let identifier = schema
            .metadata()
            .get("qdp.identifier")
            .cloned()
            .or_else(|| {
                let base = category.strip_suffix("_unqualified").unwrap_or(category);
                registry().get(base).map(|s| s.identifier.clone())
            });
        Ok(
            [self.o.key.clone(), identifier, self.o.fallback_key.clone()]
                .into_iter()
                .flatten()
                .find_map(|k| schema.index_of(&k).ok()),
        )
    }
}

/// `data` with its category schema's `qdp.*` metadata (lost when a batch
/// crosses the plugin boundary), so Arrow payloads tell readers the
/// identifier and timestamp columns.
fn with_category_metadata(data: &RecordBatch, category: &str) -> RecordBatch {
    let schema = data.schema();
    if !schema.metadata().is_empty() {
        return data.clone();
    }
    let Some(cat) = registry().get(category) else {
        return data.clone();
    };
    let meta = cat.arrow_schema().metadata().clone();
    let with = Arc::new(schema.as_ref().clone().with_metadata(meta));
    data.clone()
        .with_schema(with)
        .unwrap_or_else(|_| data.clone())
}

/// Queues one message, waiting for earlier deliveries while the local queue
/// is full (backpressure, never a drop).
async fn send(
    producer: &FutureProducer,
    topic: &str,
    m: &Message,
    headers: OwnedHeaders,
    inflight: &mut VecDeque<(DeliveryFuture, String)>,
    failed: &mut Option<PluginError>,
) -> Result<DeliveryFuture> {
    let mut record = FutureRecord::<str, [u8]>::to(topic)
        .payload(m.payload.as_slice())
        .headers(headers);
    if let Some(k) = &m.key {
        record = record.key(k.as_str());
    }
    loop {
        match producer.send_result(record) {
            Ok(f) => return Ok(f),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                match inflight.pop_front() {
                    Some((f, t)) => settle(f, &t, failed).await,
                    None => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
            Err((e, _)) => {
                return Err(
                    PluginError::external(format!("cannot queue a message: {e}"))
                        .with_context("topic", topic),
                );
            }
        }
    }
}

/// Waits for one acknowledgement and keeps the first failure.
async fn settle(f: DeliveryFuture, topic: &str, failed: &mut Option<PluginError>) {
    let err = match f.await {
        Ok(Ok(_)) => return,
        Ok(Err((e, _))) => format!("the broker did not acknowledge a message: {e}"),
        Err(_) => "the producer dropped a message before it was acknowledged".to_string(),
    };
    failed.get_or_insert_with(|| PluginError::external(err).with_context("topic", topic));
}

/// Builds `OwnedHeaders` from name/value pairs.
pub(crate) fn owned_headers(pairs: &[(&str, String)]) -> OwnedHeaders {
    pairs.iter().fold(OwnedHeaders::new(), |h, (k, v)| {
        h.insert(Header {
            key: k,
            value: Some(v.as_str()),
        })
    })
}
