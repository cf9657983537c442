//! The group consumer: settings, and the rebalance handling that keeps
//! track of which partitions are ours (and since when) and starts a
//! partition at the checkpoint's position when the group's committed offset
//! lags behind it.

use crate::checkpoint::Tp;
use crate::config::{Options, Properties, Start};
use qdp_sdk::{PluginError, Result};
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{
    BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaRespErr;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Properties the source sets itself; `properties` may not override them
/// (auto commit would commit at poll time, which loses data on a crash).
const OWNED: &[&str] = &[
    "bootstrap.servers",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
];

/// What the rebalance callback and the source share.
#[derive(Debug, Default)]
pub struct Assignment {
    next_epoch: u64,
    /// Partitions assigned now, with the epoch of their assignment.
    pub assigned: HashMap<Tp, u64>,
    /// Positions from the checkpoint: a partition starts there when the
    /// group's committed offset is behind (a commit lost after the runtime
    /// stored the checkpoint) or missing.
    pub floors: HashMap<Tp, i64>,
    /// Partitions taken away since the source last looked.
    pub revoked: Vec<Tp>,
}

/// The consumer's context.
pub struct GroupContext {
    shared: Arc<Mutex<Assignment>>,
}

impl GroupContext {
    fn lock(&self) -> MutexGuard<'_, Assignment> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves partitions whose checkpoint position is ahead of the group's
    /// committed offset to that position.
    fn apply_floors(&self, c: &BaseConsumer<Self>, tpl: &mut TopicPartitionList) {
        let floors: Vec<(Tp, i64)> = {
            let a = self.lock();
            tpl.elements()
                .iter()
                .filter_map(|e| {
                    let tp = (e.topic().to_string(), e.partition());
                    a.floors.get(&tp).map(|f| (tp, *f))
                })
                .collect()
        };
        if floors.is_empty() {
            return;
        }
        let mut query = TopicPartitionList::new();
        for ((t, p), _) in &floors {
            query.add_partition(t, *p);
        }
        let committed = match c.committed_offsets(query, Duration::from_secs(10)) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read committed offsets; partitions start at the group's offsets");
                return;
            }
        };
        for ((t, p), floor) in floors {
            let behind = match committed.find_partition(&t, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => o < floor,
                _ => true,
            };
            if behind && let Err(e) = tpl.set_partition_offset(&t, p, Offset::Offset(floor)) {
                tracing::warn!(topic = %t, partition = p, error = %e, "cannot start at the checkpoint's offset");
            }
        }
    }
}

impl ClientContext for GroupContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => tracing::error!(facility = fac, "{log_message}"),
            RDKafkaLogLevel::Warning => tracing::warn!(facility = fac, "{log_message}"),
            _ => tracing::debug!(facility = fac, "{log_message}"),
        }
    }
}

impl ConsumerContext for GroupContext {
    fn rebalance(&self, c: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        let cooperative = matches!(c.rebalance_protocol(), RebalanceProtocol::Cooperative);
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.apply_floors(c, tpl);
                {
                    let mut a = self.lock();
                    for e in tpl.elements() {
                        a.next_epoch += 1;
                        let epoch = a.next_epoch;
                        a.assigned
                            .insert((e.topic().to_string(), e.partition()), epoch);
                    }
                }
                tracing::info!(partitions = tpl.count(), "Kafka partitions assigned");
                if cooperative {
                    c.incremental_assign(tpl)
                } else {
                    c.assign(tpl)
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                {
                    let mut a = self.lock();
                    for e in tpl.elements() {
                        let tp = (e.topic().to_string(), e.partition());
                        a.assigned.remove(&tp);
                        a.revoked.push(tp);
                    }
                }
                tracing::info!(partitions = tpl.count(), "Kafka partitions revoked");
                if cooperative {
                    c.incremental_unassign(tpl)
                } else {
                    c.unassign()
                }
            }
            other => {
                tracing::warn!(error = ?other, "Kafka rebalance error; dropping the assignment");
                let mut a = self.lock();
                let lost: Vec<Tp> = a.assigned.drain().map(|(tp, _)| tp).collect();
                a.revoked.extend(lost);
                drop(a);
                c.unassign()
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "applying a Kafka rebalance failed");
        }
    }
}

/// Refuses `properties` that would override what the source decides.
pub fn check_properties(p: &Properties) -> Result<()> {
    if let Some(k) = p.0.keys().find(|k| OWNED.contains(&k.as_str())) {
        return Err(PluginError::config(format!(
            "properties.{k} is set by the source itself (brokers, group_id; offsets are committed only after the sinks commit); remove it"
        )));
    }
    Ok(())
}

/// An error from librdkafka, with secrets scrubbed from its text.
pub fn kafka_error(what: &str, e: &KafkaError, p: &Properties) -> PluginError {
    let text = p.redact(&e.to_string());
    match e {
        KafkaError::ClientConfig(..) | KafkaError::ClientCreation(..) => {
            PluginError::config(format!("{what}: {text}"))
        }
        _ => PluginError::external(format!("{what}: {text}")),
    }
}

/// How long the broker may hold an idle fetch: the source's `max_wait`,
/// within 10 to 500 ms (librdkafka's default is 500).
fn fetch_wait_ms(max_wait: &str) -> u128 {
    crate::config::duration(max_wait, "max_wait")
        .map(|d| d.as_millis().clamp(10, 500))
        .unwrap_or(500)
}

/// The consumer's librdkafka configuration.
fn config(o: &Options) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &o.brokers)
        .set("group.id", &o.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set(
            "auto.offset.reset",
            match o.start {
                Start::Earliest => "earliest",
                Start::Latest => "latest",
            },
        )
        // librdkafka's defaults suit small records. An Arrow message holds
        // thousands of rows (hundreds of KB), so a 1 MB per-partition fetch
        // returns a handful of messages per round trip and the consumer,
        // not the broker, becomes the limit of the lane (measured: 2x).
        .set("max.partition.fetch.bytes", "16777216")
        .set("fetch.max.bytes", "67108864")
        // A broker that does not answer a fetch early when data arrives
        // holds it for this long when idle: keep it within the batch wait.
        .set("fetch.wait.max.ms", fetch_wait_ms(&o.max_wait).to_string());
    for (k, v) in &o.properties.0 {
        c.set(k, v);
    }
    c
}

/// Checks that librdkafka takes the configuration (a config error if not),
/// without a runtime and without joining the group.
pub fn validate(o: &Options) -> Result<()> {
    config(o)
        .create::<BaseConsumer>()
        .map(drop)
        .map_err(|e| kafka_error("cannot create the Kafka consumer", &e, &o.properties))
}

/// Builds the consumer (no network traffic until it subscribes).
pub fn consumer(
    o: &Options,
    shared: Arc<Mutex<Assignment>>,
) -> Result<StreamConsumer<GroupContext>> {
    config(o)
        .create_with_context(GroupContext { shared })
        .map_err(|e| kafka_error("cannot create the Kafka consumer", &e, &o.properties))
}
