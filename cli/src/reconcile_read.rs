//! Reading topics for `qdp reconcile`: a plain consumer that assigns every
//! partition itself (no group membership, nothing committed), starts at the
//! low watermark or the first offset at `--since`, and stops at the high
//! watermarks taken when it started. Only headers are looked at.

use crate::reconcile_count::{Counter, Msg};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What one broker connection read.
#[derive(Debug, Default)]
pub struct Read {
    /// Topics read.
    pub topics: Vec<String>,
    /// Named topics the cluster does not have (nothing was ever written).
    pub missing: Vec<String>,
}

/// Whether `name` matches `pattern`, where `*` stands for any text.
pub fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

/// Now, in ms since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Counts every message of the topics matching `patterns` into `counter`.
pub fn read(
    brokers: &str,
    patterns: &[String],
    from_ms: Option<i64>,
    timeout: Duration,
    pipeline: Option<&str>,
    counter: &mut Counter,
) -> Result<Read, String> {
    let unreachable = |e: &dyn std::fmt::Display| {
        format!("error: cannot reach the Kafka brokers at {brokers}: {e}")
    };
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "qdp-reconcile")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("socket.timeout.ms", timeout.as_millis().max(10).to_string())
        .create()
        .map_err(|e| format!("error: bad Kafka client settings for {brokers}: {e}"))?;
    let md = c
        .fetch_metadata(None, timeout)
        .map_err(|e| unreachable(&e))?;
    let mut out = Read::default();
    for p in patterns {
        let found: Vec<String> = md
            .topics()
            .iter()
            .map(|t| t.name().to_string())
            .filter(|n| glob(p, n) && (p.starts_with("__") || !n.starts_with("__")))
            .collect();
        if found.is_empty() && !p.contains('*') {
            out.missing.push(p.clone());
        }
        for t in found {
            if !out.topics.contains(&t) {
                out.topics.push(t);
            }
        }
    }
    // Where to start and stop in every partition that holds messages.
    let mut start = TopicPartitionList::new();
    let mut high: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for t in md
        .topics()
        .iter()
        .filter(|t| out.topics.iter().any(|n| n == t.name()))
    {
        for p in t.partitions() {
            let (low, hi) = c
                .fetch_watermarks(t.name(), p.id(), timeout)
                .map_err(|e| unreachable(&format!("watermarks of {}/{}: {e}", t.name(), p.id())))?;
            if hi > low {
                start
                    .add_partition_offset(t.name(), p.id(), Offset::Offset(from_ms.unwrap_or(low)))
                    .map_err(|e| e.to_string())?;
                high.insert((t.name().to_string(), p.id()), hi);
            }
        }
    }
    if high.is_empty() {
        return Ok(out);
    }
    if from_ms.is_some() {
        // The first offset at or after the time, per partition.
        start = c
            .offsets_for_times(start, timeout)
            .map_err(|e| unreachable(&format!("offsets by time: {e}")))?;
        let mut kept = TopicPartitionList::new();
        for e in start.elements() {
            match e.offset() {
                Offset::Offset(o) if o < high[&(e.topic().to_string(), e.partition())] => {
                    kept.add_partition_offset(e.topic(), e.partition(), Offset::Offset(o))
                        .map_err(|e| e.to_string())?;
                }
                _ => {
                    high.remove(&(e.topic().to_string(), e.partition()));
                }
            }
        }
        start = kept;
    }
    c.assign(&start).map_err(|e| unreachable(&e))?;
    let mut progress = Instant::now();
    while !high.is_empty() {
        match c.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                progress = Instant::now();
                let key = (m.topic().to_string(), m.partition());
                if high.get(&key).is_some_and(|h| m.offset() + 1 >= *h) {
                    high.remove(&key);
                }
                count(&m, pipeline, counter);
            }
            Some(Err(e)) => return Err(unreachable(&e)),
            None => {
                // Transaction markers take offsets no message is read at.
                if let Ok(pos) = c.position() {
                    for e in pos.elements() {
                        if let (Offset::Offset(o), Some(h)) = (
                            e.offset(),
                            high.get(&(e.topic().to_string(), e.partition())),
                        ) && o >= *h
                        {
                            high.remove(&(e.topic().to_string(), e.partition()));
                        }
                    }
                }
                if progress.elapsed() > timeout {
                    let left: Vec<String> = high.keys().map(|(t, p)| format!("{t}/{p}")).collect();
                    return Err(format!(
                        "error: no message from {brokers} for {timeout:?} (raise --timeout for a slow broker); not read to the end: {}",
                        left.join(", ")
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// Counts one message from its headers.
fn count(m: &impl Message, pipeline: Option<&str>, counter: &mut Counter) {
    let mut h: BTreeMap<&str, String> = BTreeMap::new();
    if let Some(headers) = m.headers() {
        for x in headers.iter() {
            if let (Some(k), Some(v)) = (x.key.strip_prefix("qdp."), x.value) {
                h.insert(k, String::from_utf8_lossy(v).into_owned());
            }
        }
    }
    let mut take = |k: &str| h.remove(k);
    let parsed = (|| {
        Some(Msg {
            topic: m.topic().to_string(),
            pipeline: take("pipeline")?,
            origin: take("origin")?,
            producer: take("producer")?,
            category: take("category")?,
            source_system: take("source_system").unwrap_or_default(),
            seq: take("seq")?.parse().ok()?,
            part: take("part").map_or(Some(0), |p| p.parse().ok())?,
            rows: take("rows")?.parse().ok()?,
            ts_ms: m.timestamp().to_millis().unwrap_or_else(now_ms),
        })
    })();
    match parsed {
        None => counter.foreign += 1,
        Some(msg) if pipeline.is_some_and(|p| p != msg.pipeline) => counter.other_pipelines += 1,
        Some(msg) => counter.add(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs_match_topic_names() {
        assert!(glob("raw_ibkr_cpapi_ticks", "raw_ibkr_cpapi_ticks"));
        assert!(glob("raw_*", "raw_ibkr_cpapi_ticks"));
        assert!(glob(
            "*_unqualified",
            "derivatives_tick_market_data_unqualified"
        ));
        assert!(glob("ibkr.*.ticks", "ibkr.x.ticks"));
        assert!(!glob("raw_*", "derivatives_tick_market_data"));
        assert!(!glob("a*a", "a"));
    }
}
