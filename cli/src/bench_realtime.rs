//! `qdp bench realtime`: the realtime lane end to end against a real
//! Kafka-protocol broker (tansu) and a real clickhouse-server, both started
//! for the run on ephemeral ports:
//!
//! 1. **Throughput**: market-sim (as fast as it goes) → disk buffer → map →
//!    validate → Kafka sink (Arrow IPC) in one pipeline, Kafka source →
//!    ClickHouse sink (`parallelism = "auto"`) in another, both in this
//!    process; timed from the start until every tick is queryable.
//! 2. **Latency** at half that rate: p99 of `ingestion_time_realtime_store −
//!    tick_time` over the rows of that phase (the simulator stamps ticks with
//!    the wall clock when it paces them), computed by ClickHouse.
//! 3. **Raw limits**, same run: rdkafka producing the very messages the sink
//!    wrote straight to a new topic, and the clickhouse client inserting the
//!    very rows the sink loaded into a table of the same shape.
//!
//! Last line: `bench realtime ticks_per_s=… p99_ms=… kafka_raw_ticks_per_s=…
//! clickhouse_raw_ticks_per_s=… ratio=…` with ratio = ticks_per_s /
//! min(raw limits).

use crate::bench_realtime_raw::{clickhouse_raw, create_topic, kafka_raw};
use qdp_core::{Pipeline, Registry};
use qdp_test_services::{ClickHouse, Kafka};
use std::time::{Duration, Instant};

/// Runs the benchmark and prints its line last.
pub async fn run(ticks: u64) -> Result<(), String> {
    let kafka = Kafka::start()
        .ok_or("bench realtime needs tansu: run `bash scripts/services.sh install`")?;
    let ch = ClickHouse::start()
        .ok_or("bench realtime needs clickhouse-server: run `bash scripts/services.sh install`")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let lane = Lane::start(&kafka, &ch, dir.path()).await?;
    let (rate, p1) = lane.phase("throughput", ticks, 0, "bench_max", &ch).await?;
    println!("phase 1: {ticks} ticks end to end in {p1:.2} s: {rate:.0} ticks/s");

    let half = (rate / 2.0).max(1000.0);
    let secs = 15.0;
    let n2 = (half * secs) as u64;
    lane.phase("latency", n2, half as u64, "bench_half", &ch)
        .await?;
    let p99 = p99_ms(&ch, "bench_half").await?;
    println!("phase 2: {n2} ticks at {half:.0} ticks/s: p99 {p99:.1} ms from tick to queryable");

    let kraw = kafka_raw(&kafka.bootstrap(), "derivatives_tick_market_data", ticks).await?;
    println!("raw kafka: {kraw:.0} ticks/s (rdkafka, same messages, acks=all, idempotent)");
    let craw = clickhouse_raw(&ch, "bench_max", ticks).await?;
    println!("raw clickhouse: {craw:.0} ticks/s (clickhouse crate, same rows, RowBinary)");
    let ratio = rate / kraw.min(craw);
    println!(
        "bench realtime ticks_per_s={rate:.0} p99_ms={p99:.1} kafka_raw_ticks_per_s={kraw:.0} clickhouse_raw_ticks_per_s={craw:.0} ratio={ratio:.2}"
    );
    Ok(())
}

/// The two pipelines of the lane against one broker and one ClickHouse.
pub struct Lane {
    pub brokers: String,
    pub clickhouse: String,
    pub dir: std::path::PathBuf,
}

impl Lane {
    /// The lane on `kafka` and `ch`, state under `dir`, with its category
    /// topic created up front (a consumer that subscribes before a topic
    /// exists learns of it only at its next metadata refresh).
    pub async fn start(
        kafka: &Kafka,
        ch: &ClickHouse,
        dir: &std::path::Path,
    ) -> Result<Self, String> {
        println!(
            "services: tansu at {}, clickhouse-server {} at {}",
            kafka.bootstrap(),
            ch.version(),
            ch.url()
        );
        create_topic(&kafka.bootstrap(), "derivatives_tick_market_data", 4).await?;
        Ok(Self {
            brokers: kafka.bootstrap(),
            clickhouse: ch.url(),
            dir: dir.to_path_buf(),
        })
    }

    fn connector(&self, name: &str, ticks: u64, rate: u64, system: &str) -> String {
        // Paced, a batch leaves the simulator when full: 2000 ticks is a few
        // tens of ms at the rates measured here.
        let batch = if rate == 0 { 8192 } else { 2000 };
        format!(
            r#"
[pipeline]
name = "{name}-connector"
data_dir = "{dir}/{name}-connector"

[sources.sim]
type = "market_sim"
seed = 7
rate = {rate}
max_ticks = {ticks}
batch_size = {batch}

[sources.sim.buffer]
fsync = "group"
group_commit = "10ms"

[transforms.ticks]
type = "map"
inputs = ["sim"]
category = "derivatives_tick_market_data"
source_system = "{system}"

[transforms.ticks.fields]
exchange_code = {{ from = "exchange" }}
symbol_code = {{ from = "symbol" }}
symbol_type = {{ from = "instrument_type" }}
tick_time = {{ from = "ts_event_ns", epoch = "ns" }}

[transforms.valid]
type = "validate"
inputs = ["ticks"]

[sinks.kafka]
type = "kafka"
inputs = ["valid"]
brokers = "{brokers}"
format = "arrow"
partitions = 4
batch = {{ max_rows = 50000, max_wait = "100ms" }}
"#,
            dir = self.dir.display(),
            brokers = self.brokers,
        )
    }

    fn processor(&self, name: &str) -> String {
        format!(
            r#"
[pipeline]
name = "{name}-processor"
data_dir = "{dir}/{name}-processor"

[sources.topics]
type = "kafka"
brokers = "{brokers}"
group_id = "bench"
topics = ["derivatives_tick_market_data"]
batch_size = 50000
max_wait = "20ms"

[sinks.clickhouse]
type = "clickhouse"
inputs = ["topics"]
url = "{ch}"
database = "qdp"
parallelism = {{ min = 1, max = 4 }}
batch = {{ max_rows = 200000, max_wait = "50ms" }}
"#,
            dir = self.dir.display(),
            brokers = self.brokers,
            ch = self.clickhouse,
        )
    }

    /// Runs both pipelines until `ticks` rows of `system` are queryable;
    /// returns (ticks/s, seconds).
    pub async fn phase(
        &self,
        name: &str,
        ticks: u64,
        rate: u64,
        system: &str,
        ch: &ClickHouse,
    ) -> Result<(f64, f64), String> {
        let processor = Pipeline::from_toml_str(
            "processor.toml",
            &self.processor(name),
            Registry::with_builtins(),
        )
        .await
        .map_err(|e| e.to_string())?;
        let connector = Pipeline::from_toml_str(
            "connector.toml",
            &self.connector(name, ticks, rate, system),
            Registry::with_builtins(),
        )
        .await
        .map_err(|e| e.to_string())?;
        let (pm, cm) = (processor.metrics(), connector.metrics());
        let counts = move || {
            let mut v: Vec<String> = cm
                .all()
                .into_iter()
                .chain(pm.all())
                .map(|(id, _, m)| {
                    format!(
                        "{id} in {} out {} errors {}",
                        m.rows_in.load(std::sync::atomic::Ordering::Relaxed),
                        m.rows_out.load(std::sync::atomic::Ordering::Relaxed),
                        m.errors.load(std::sync::atomic::Ordering::Relaxed)
                    )
                })
                .collect();
            v.sort();
            v.join("; ")
        };
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let proc_task = tokio::spawn(processor.run_until(async {
            let _ = stop_rx.await;
        }));
        let started = Instant::now();
        let conn_task = tokio::spawn(connector.run_until(std::future::pending()));
        let count_sql = format!(
            "SELECT count() FROM qdp.derivatives_tick_market_data WHERE source_system_name = '{system}'"
        );
        let deadline = started + Duration::from_secs(900);
        let mut report = started + Duration::from_secs(10);
        loop {
            let n: u64 = ch
                .query(&count_sql)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            if n >= ticks {
                break;
            }
            if Instant::now() > report {
                println!(
                    "  {name}: {n} of {ticks} rows queryable after {:.0} s ({})",
                    started.elapsed().as_secs_f64(),
                    counts()
                );
                report += Duration::from_secs(10);
            }
            if proc_task.is_finished() || Instant::now() > deadline {
                let _ = stop_tx.send(());
                return Err(format!(
                    "bench realtime: {name}: {n} of {ticks} rows arrived ({})",
                    if proc_task.is_finished() {
                        "the processor stopped"
                    } else {
                        "15 minutes passed"
                    }
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let secs = started.elapsed().as_secs_f64();
        let conn = conn_task.await.map_err(|e| e.to_string())?;
        conn.map_err(|e| format!("connector: {e}"))?;
        let _ = stop_tx.send(());
        proc_task
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("processor: {e}"))?;
        let distinct = ch
            .query(&format!(
                "SELECT count() FROM qdp.derivatives_tick_market_data FINAL WHERE source_system_name = '{system}'"
            ))
            .map_err(|e| format!("count: {e}"))?;
        if distinct.trim() != ticks.to_string() {
            let q = |sql: &str| ch.query(sql).unwrap_or_else(|e| e);
            let t =
                format!("qdp.derivatives_tick_market_data WHERE source_system_name = '{system}'");
            return Err(format!(
                "bench realtime: {name}: {} distinct rows in ClickHouse, expected {ticks}; rows {}; keys held twice:\n{}",
                distinct.trim(),
                q(&format!("SELECT count() FROM {t}")).trim(),
                q(&format!(
                    "SELECT symbol_code, tick_time, groupArray(price) FROM {t} GROUP BY symbol_code, tick_time HAVING count() > 1 LIMIT 5"
                )),
            ));
        }
        Ok((ticks as f64 / secs, secs))
    }
}

/// p99 of tick → queryable in ClickHouse, in ms, over the rows of `system`.
async fn p99_ms(ch: &ClickHouse, system: &str) -> Result<f64, String> {
    let ns = ns_of(ch)?;
    let sql = format!(
        "SELECT quantileExact(0.99)(toInt64({}) - toInt64({})) FROM qdp.derivatives_tick_market_data WHERE source_system_name = '{system}'",
        ns("ingestion_time_realtime_store"),
        ns("tick_time")
    );
    let v = ch.query(&sql).map_err(|e| e.to_string())?;
    v.trim()
        .parse::<f64>()
        .map(|ns| ns / 1e6)
        .map_err(|e| format!("p99: `{}`: {e}", v.trim()))
}

/// How to read a timestamp column of the tick table as UInt64 nanoseconds:
/// `DateTime64(9)` on servers that have it, plain UInt64 on older ones.
pub fn ns_of(ch: &ClickHouse) -> Result<impl Fn(&str) -> String, String> {
    let ty = ch
        .query("SELECT type FROM system.columns WHERE database = 'qdp' AND table = 'derivatives_tick_market_data' AND name = 'tick_time'")
        .map_err(|e| format!("tick_time type: {e}"))?;
    let dt64 = ty.trim().starts_with("DateTime64");
    Ok(move |c: &str| {
        if dt64 {
            format!("toUInt64(toUnixTimestamp64Nano({c}))")
        } else {
            format!("toUInt64({c})")
        }
    })
}
