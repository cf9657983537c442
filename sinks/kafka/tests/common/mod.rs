//! Reading a topic back with a plain librdkafka consumer, as any outside
//! reader would.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

/// One message as read back.
#[derive(Debug, Clone)]
pub struct Read {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub payload: Vec<u8>,
    pub headers: BTreeMap<String, String>,
}

/// Every message of `topic`, partition by partition; empty when the topic
/// does not exist.
pub fn read_topic(bootstrap: &str, topic: &str) -> Result<Vec<Read>, String> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "qdp-test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| e.to_string())?;
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
        return Ok(Vec::new());
    };
    if t.error().is_some() || t.partitions().is_empty() {
        return Ok(Vec::new());
    }
    let mut tpl = TopicPartitionList::new();
    let mut want = BTreeMap::new();
    for p in t.partitions() {
        let (low, high) = c
            .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        if high > low {
            tpl.add_partition_offset(topic, p.id(), Offset::Offset(low))
                .map_err(|e| e.to_string())?;
            want.insert(p.id(), high);
        }
    }
    if want.is_empty() {
        return Ok(Vec::new());
    }
    c.assign(&tpl).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !want.is_empty() {
        if Instant::now() > deadline {
            return Err(format!(
                "reading {topic} timed out; still waiting for {want:?}"
            ));
        }
        let Some(m) = c.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = m.map_err(|e| e.to_string())?;
        let mut headers = BTreeMap::new();
        if let Some(h) = m.headers() {
            for x in h.iter() {
                let v = x.value.map(|v| String::from_utf8_lossy(v).into_owned());
                headers.insert(x.key.to_string(), v.unwrap_or_default());
            }
        }
        out.push(Read {
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
            payload: m.payload().unwrap_or_default().to_vec(),
            headers,
        });
        if want
            .get(&m.partition())
            .is_some_and(|h| m.offset() + 1 >= *h)
        {
            want.remove(&m.partition());
        }
    }
    Ok(out)
}

/// Rows in `topic` as a reader that drops replays sees them: `qdp.rows`
/// summed over distinct (pipeline, origin, producer, category, seq, part).
pub fn distinct_rows(msgs: &[Read]) -> u64 {
    let mut seen = HashSet::new();
    let mut rows = 0;
    for m in msgs {
        let h = |k: &str| m.headers.get(k).cloned().unwrap_or_default();
        let token = (
            h("qdp.pipeline"),
            h("qdp.origin"),
            h("qdp.producer"),
            h("qdp.category"),
            h("qdp.seq"),
            h("qdp.part"),
        );
        if seen.insert(token) {
            rows += h("qdp.rows").parse::<u64>().unwrap();
        }
    }
    rows
}
