//! The raw limits of `qdp bench realtime`: what the broker and the store
//! take when qdp is not in the way, measured on the same data in the same run.

use clickhouse::Row;
use qdp_test_services::ClickHouse;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

fn kerr(what: &str) -> impl Fn(KafkaError) -> String + '_ {
    move |e| format!("raw kafka: {what}: {e}")
}

/// Creates `topic` with `partitions` partitions (before any consumer
/// subscribes: a consumer learns of new topics only at its next metadata
/// refresh).
pub async fn create_topic(brokers: &str, topic: &str, partitions: i32) -> Result<(), String> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .map_err(kerr("admin client"))?;
    let r = admin
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .map_err(kerr("create topic"))?;
    for t in r {
        match t {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, e)) => return Err(format!("raw kafka: create topic {name}: {e}")),
        }
    }
    Ok(())
}

/// Reads back the messages the sink wrote in the throughput phase
/// (untimed), then produces them `runs` times, each to a new topic, with a
/// plain rdkafka producer configured as the sink's (acks=all, idempotent),
/// timed; returns the median rate.
pub async fn kafka_raw(brokers: &str, topic: &str, ticks: u64, runs: usize) -> Result<f64, String> {
    let t0 = std::time::Instant::now();
    let messages = read_back(brokers, topic, ticks)?;
    println!(
        "raw kafka read back: {} messages in {:.2} s",
        messages.len(),
        t0.elapsed().as_secs_f64()
    );
    let mut rates = Vec::with_capacity(runs);
    for run in 0..runs.max(1) {
        rates.push(produce(brokers, &format!("bench_raw_{run}"), &messages, ticks).await?);
    }
    Ok(crate::bench::median(&mut rates))
}

/// Produces `messages` to a new topic `target`; ticks per second.
async fn produce(
    brokers: &str,
    target: &str,
    messages: &[OwnedMessage],
    ticks: u64,
) -> Result<f64, String> {
    create_topic(brokers, target, 4).await?;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("partitioner", "murmur2_random")
        .set("message.max.bytes", "17000000")
        .create()
        .map_err(kerr("producer"))?;
    let started = Instant::now();
    let mut inflight = VecDeque::new();
    for m in messages {
        let mut record = FutureRecord::to(target).payload(m.payload().unwrap_or_default());
        if let Some(k) = m.key() {
            record = record.key(k);
        }
        loop {
            match producer.send_result(record) {
                Ok(f) => {
                    inflight.push_back(f);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    match inflight.pop_front() {
                        Some(f) => delivered(f.await)?,
                        None => tokio::time::sleep(Duration::from_millis(1)).await,
                    }
                }
                Err((e, _)) => return Err(format!("raw kafka: produce: {e}")),
            }
        }
    }
    for f in inflight {
        delivered(f.await)?;
    }
    Ok(ticks as f64 / started.elapsed().as_secs_f64())
}

fn delivered<T, M, C>(r: Result<Result<T, (KafkaError, M)>, C>) -> Result<(), String> {
    match r {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((e, _))) => Err(format!("raw kafka: delivery: {e}")),
        Err(_) => Err("raw kafka: the producer went away".into()),
    }
}

/// The messages the throughput phase wrote (its connector pipeline is
/// `throughput-connector`), by headers.
fn read_back(brokers: &str, topic: &str, ticks: u64) -> Result<Vec<OwnedMessage>, String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "bench-raw-reader")
        .set("enable.auto.commit", "false")
        // An idle fetch would otherwise wait 500 ms on a broker that does
        // not answer early, and the Arrow messages are large.
        .set("fetch.wait.max.ms", "10")
        .set("max.partition.fetch.bytes", "16777216")
        .create()
        .map_err(kerr("consumer"))?;
    let meta = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(30))
        .map_err(kerr("metadata"))?;
    let mut tpl = TopicPartitionList::new();
    let mut ends = Vec::new();
    for t in meta.topics() {
        for p in t.partitions() {
            let (_, high) = consumer
                .fetch_watermarks(topic, p.id(), Duration::from_secs(30))
                .map_err(kerr("watermarks"))?;
            tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
                .map_err(kerr("assign"))?;
            ends.push((p.id(), high));
        }
    }
    consumer.assign(&tpl).map_err(kerr("assign"))?;
    let mut out = Vec::new();
    let mut rows = 0u64;
    let mut done: Vec<i32> = ends
        .iter()
        .filter(|(_, h)| *h == 0)
        .map(|(p, _)| *p)
        .collect();
    let deadline = Instant::now() + Duration::from_secs(600);
    while done.len() < ends.len() {
        if Instant::now() > deadline {
            return Err("raw kafka: reading the topic back took over 10 minutes".into());
        }
        let Some(m) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let m = m.map_err(kerr("poll"))?;
        let (p, off) = (m.partition(), m.offset());
        let header = |name: &str| {
            m.headers().and_then(|h| {
                h.iter()
                    .find(|x| x.key == name)
                    .and_then(|x| x.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })
        };
        if header("qdp.pipeline").as_deref() == Some("throughput-connector") {
            rows += header("qdp.rows").and_then(|r| r.parse().ok()).unwrap_or(0);
            out.push(m.detach());
        }
        if ends.iter().any(|(q, h)| *q == p && off + 1 >= *h) && !done.contains(&p) {
            done.push(p);
        }
    }
    if rows != ticks {
        return Err(format!(
            "raw kafka: read back {rows} rows, expected {ticks}"
        ));
    }
    Ok(out)
}

/// One tick as the raw insert writes it: the category columns, times in ns.
#[derive(Row, Serialize, Deserialize)]
struct Tick {
    source_system_name: String,
    exchange_code: String,
    symbol_code: String,
    symbol_type: String,
    price: f64,
    price_unit: String,
    size: f64,
    size_unit: String,
    tick_time: u64,
    ingestion_time: u64,
}

/// Fetches the rows the sink loaded for `system` (untimed), then inserts
/// them `runs` times, each into a new table of the same shape, with the
/// clickhouse crate's typed RowBinary insert, 200,000 rows per insert like
/// the sink, timed; returns the median rate.
pub async fn clickhouse_raw(
    ch: &ClickHouse,
    system: &str,
    ticks: u64,
    runs: usize,
) -> Result<f64, String> {
    let client = clickhouse::Client::default()
        .with_url(ch.url())
        .with_database("qdp")
        .with_validation(false);
    let ns = crate::bench_realtime::ns_of(ch).map_err(|e| format!("raw clickhouse: {e}"))?;
    let rows: Vec<Tick> = client
        .query(&format!(
            "SELECT source_system_name, exchange_code, symbol_code, symbol_type, price, price_unit, size, size_unit, {}, {} FROM derivatives_tick_market_data WHERE source_system_name = ?",
            ns("tick_time"),
            ns("ingestion_time")
        ))
        .bind(system)
        .fetch_all()
        .await
        .map_err(cerr("fetch"))?;
    if rows.len() as u64 != ticks {
        return Err(format!(
            "raw clickhouse: fetched {} rows, expected {ticks}",
            rows.len()
        ));
    }
    let mut rates = Vec::with_capacity(runs);
    for run in 0..runs.max(1) {
        rates.push(insert(&client, &format!("bench_raw_ticks_{run}"), &rows).await?);
    }
    Ok(crate::bench::median(&mut rates))
}

fn cerr(what: &'static str) -> impl Fn(clickhouse::error::Error) -> String {
    move |e| format!("raw clickhouse: {what}: {e}")
}

/// Inserts `rows` into a new table `table`; rows per second.
async fn insert(client: &clickhouse::Client, table: &str, rows: &[Tick]) -> Result<f64, String> {
    client
        .query(&format!(
            "CREATE TABLE {table} (source_system_name String, exchange_code String, symbol_code String, symbol_type String, price Float64, price_unit String, size Float64, size_unit String, tick_time UInt64, ingestion_time UInt64) ENGINE = ReplacingMergeTree(ingestion_time) PARTITION BY toDate(toDateTime(intDiv(tick_time, 1000000000))) ORDER BY (source_system_name, symbol_code, tick_time)",
        ))
        .execute()
        .await
        .map_err(cerr("create table"))?;
    let started = Instant::now();
    for chunk in rows.chunks(200_000) {
        let mut insert = client.insert::<Tick>(table).await.map_err(cerr("insert"))?;
        for r in chunk {
            insert.write(r).await.map_err(cerr("write"))?;
        }
        insert.end().await.map_err(cerr("commit"))?;
    }
    Ok(rows.len() as f64 / started.elapsed().as_secs_f64())
}
