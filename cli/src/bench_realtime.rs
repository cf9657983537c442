//! `qdp bench realtime`: the realtime lane end to end against a real
//! Kafka-protocol broker (tansu) and a real clickhouse-server, both started
//! for the run on ephemeral ports:
//!
//! 1. **Throughput**: market-sim (as fast as it goes) → disk buffer → map →
//!    validate → Kafka sink (Arrow IPC) in one pipeline, Kafka source →
//!    ClickHouse sink (`parallelism` 1 to 4) in another, both in this
//!    process; timed from the start until every tick is queryable.
//! 2. **Latency** at half that rate, three runs: p99 of
//!    `ingestion_time_realtime_store − tick_time` over the rows of each run
//!    (the simulator stamps ticks with the wall clock when it paces them),
//!    computed by ClickHouse; the median is reported.
//! 3. **Raw limits**, same run: rdkafka producing the very messages the sink
//!    wrote straight to a new topic, and the clickhouse client inserting the
//!    very rows the sink loaded into a table of the same shape.
//! 4. **Burst**: ×10 for 30 s on a fifth of the phase-1 rate; every tick
//!    must land once, and the feed must have kept its schedule.
//!
//! Last line: `bench realtime ticks_per_s=… p99_ms=… kafka_raw_ticks_per_s=…
//! clickhouse_raw_ticks_per_s=… ratio=…` with ratio = ticks_per_s /
//! min(raw limits).

use crate::bench_realtime_raw::{clickhouse_raw, create_topic, kafka_raw};
use qdp_core::{Pipeline, Registry};
use qdp_test_services::{ClickHouse, Kafka};
use std::time::{Duration, Instant};

/// The ×10 burst of phase 3: seconds of base rate before it, its length,
/// and seconds of base rate after it (virtual time of the simulator).
const BURST: (f64, f64, f64) = (5.0, 30.0, 10.0);
const BURST_MULTIPLIER: f64 = 10.0;

/// Runs the benchmark and prints its line last.
pub async fn run(ticks: u64) -> Result<(), String> {
    let kafka = Kafka::start()
        .ok_or("bench realtime needs tansu: run `bash scripts/services.sh install`")?;
    let ch = ClickHouse::start()
        .ok_or("bench realtime needs clickhouse-server: run `bash scripts/services.sh install`")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let lane = Lane::start(&kafka, &ch, dir.path()).await?;
    let mut cpu = Cpu::new(&kafka, &ch);

    let p1 = lane
        .phase(&Feed::unpaced("throughput", ticks, "bench_max"), &ch)
        .await?;
    let rate = ticks as f64 / p1.secs;
    println!(
        "phase 1: {ticks} ticks end to end in {:.2} s: {rate:.0} ticks/s; {}",
        p1.secs,
        cpu.lap(p1.secs)
    );

    // Three runs of 15 s; the median p99 is reported (one run's tail moves
    // with whatever else the two cores were doing).
    let half = (rate / 2.0).max(1000.0);
    let n2 = (half * 15.0) as u64;
    let mut p99s = Vec::new();
    for (name, system) in [
        ("latency-1", "bench_half_1"),
        ("latency-2", "bench_half_2"),
        ("latency-3", "bench_half_3"),
    ] {
        let p2 = lane
            .phase(&Feed::paced(name, n2, half, system), &ch)
            .await?;
        let p99 = p99_ms(&ch, system).await?;
        println!(
            "phase 2 ({name}): {n2} ticks at {half:.0} ticks/s: p99 {p99:.1} ms from tick to queryable; {}",
            cpu.lap(p2.secs)
        );
        p99s.push(p99);
    }
    let p99 = crate::bench::median(&mut p99s);

    let kraw = kafka_raw(&kafka.bootstrap(), "derivatives_tick_market_data", ticks, 3).await?;
    println!(
        "raw kafka: {kraw:.0} ticks/s (rdkafka, same messages, acks=all, idempotent; median of 3)"
    );
    let craw = clickhouse_raw(&ch, "bench_max", ticks, 3).await?;
    println!(
        "raw clickhouse: {craw:.0} ticks/s (clickhouse crate, same rows, RowBinary; median of 3)"
    );

    // A quiet market at a fifth of the sustainable rate, so its ×10 burst
    // is twice what the lane sustains: a backlog builds for 30 s and must
    // drain. (On half the rate, the burst is 67 million ticks, more than
    // the SQLite-backed test broker stores at a steady pace.)
    let (before, during, after) = BURST;
    let base = (rate / 5.0).max(1000.0);
    let n3 = (base * (before + during * BURST_MULTIPLIER + after)) as u64;
    let mut feed = Feed::paced("burst", n3, base, "bench_burst");
    feed.burst = Some((before, during));
    cpu.lap(0.0); // the raw measurements are not part of phase 3
    let p3 = lane.phase(&feed, &ch).await?;
    let schedule = before + during + after;
    println!(
        "phase 3: x{BURST_MULTIPLIER} burst for {during} s on {base:.0} ticks/s: all {n3} ticks queryable once; \
         the feed had emitted them at {:.1} s (its schedule: {schedule} s), \
         the lane drained {:.1} s after that; {}",
        p3.fed_secs,
        p3.secs - p3.fed_secs,
        cpu.lap(p3.secs)
    );

    let ratio = rate / kraw.min(craw);
    println!(
        "bench realtime ticks_per_s={rate:.0} p99_ms={p99:.1} kafka_raw_ticks_per_s={kraw:.0} clickhouse_raw_ticks_per_s={craw:.0} ratio={ratio:.2}"
    );
    Ok(())
}

/// What the simulator of a phase feeds.
pub struct Feed {
    pub name: &'static str,
    pub ticks: u64,
    /// Ticks per second; 0 = as fast as it goes.
    pub rate: f64,
    pub system: &'static str,
    /// A ×10 window: (start, length) in seconds of the simulator's clock.
    pub burst: Option<(f64, f64)>,
}

impl Feed {
    pub fn unpaced(name: &'static str, ticks: u64, system: &'static str) -> Self {
        Self::paced(name, ticks, 0.0, system)
    }

    pub fn paced(name: &'static str, ticks: u64, rate: f64, system: &'static str) -> Self {
        Self {
            name,
            ticks,
            rate,
            system,
            burst: None,
        }
    }
}

/// How a phase went.
pub struct PhaseTimes {
    /// Start to every tick queryable.
    pub secs: f64,
    /// Start to the simulator's last tick accepted by the connector.
    pub fed_secs: f64,
}

/// CPU seconds used by this process, the broker and the store between two
/// laps: on a small machine the three share the cores, and the split tells
/// which one a phase waited for.
struct Cpu {
    pids: [(&'static str, Option<u32>); 3],
    last: [f64; 3],
}

impl Cpu {
    fn new(kafka: &Kafka, ch: &ClickHouse) -> Self {
        let mut c = Self {
            pids: [
                ("qdp", Some(std::process::id())),
                ("tansu", kafka.pid()),
                ("clickhouse", ch.pid()),
            ],
            last: [0.0; 3],
        };
        c.lap(0.0);
        c
    }

    /// CPU seconds per process since the last lap, over `wall` seconds.
    fn lap(&mut self, wall: f64) -> String {
        let mut parts = Vec::new();
        for (i, (name, pid)) in self.pids.iter().enumerate() {
            let now = pid.and_then(cpu_secs).unwrap_or(0.0);
            parts.push(format!("{name} {:.1}", now - self.last[i]));
            self.last[i] = now;
        }
        format!("cpu s: {} in {wall:.1} s wall", parts.join(", "))
    }
}

/// User plus system CPU seconds of process `pid` (Linux `/proc`, in the
/// kernel's USER_HZ of 100 ticks per second).
fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name, which may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
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

    fn connector(&self, f: &Feed) -> String {
        // The same batches in every phase, so the latency phase runs at half
        // the rate measured on the same shape of traffic. Paced, a batch
        // leaves the simulator when full: 8192 ticks are 70 ms at 110k/s.
        let bursts = match f.burst {
            Some((start, length)) => format!(
                "[[sources.sim.bursts]]\nstart_s = {start}\nduration_s = {length}\nmultiplier = {BURST_MULTIPLIER}\n"
            ),
            None => String::new(),
        };
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
batch_size = 8192

# Sized for the burst of phase 3 (about 60 bytes a tick): a full buffer
# holds the feed back, which a real feed would not wait for.
[sources.sim.buffer]
fsync = "group"
group_commit = "10ms"
max_bytes = "16GiB"

{bursts}
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
            name = f.name,
            ticks = f.ticks,
            rate = f.rate,
            system = f.system,
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
batch = {{ max_rows = 200000, max_wait = "200ms" }}
"#,
            dir = self.dir.display(),
            brokers = self.brokers,
            ch = self.clickhouse,
        )
    }

    /// Runs both pipelines until every tick of `feed` is queryable, then
    /// checks each is there exactly once.
    pub async fn phase(&self, feed: &Feed, ch: &ClickHouse) -> Result<PhaseTimes, String> {
        let (name, ticks, system) = (feed.name, feed.ticks, feed.system);
        let processor = Pipeline::from_toml_str(
            "processor.toml",
            &self.processor(name),
            Registry::with_builtins(),
        )
        .await
        .map_err(|e| e.to_string())?;
        let connector = Pipeline::from_toml_str(
            "connector.toml",
            &self.connector(feed),
            Registry::with_builtins(),
        )
        .await
        .map_err(|e| e.to_string())?;
        let (pm, cm) = (processor.metrics(), connector.metrics());
        // Components appear in the metrics once the pipelines run.
        let rows_out = |m: &qdp_core::Metrics, id: &str| {
            m.get(id)
                .map_or(0, |m| m.rows_out.load(std::sync::atomic::Ordering::Relaxed))
        };
        let (pm2, cm2) = (pm.clone(), cm.clone());
        let fed = move || rows_out(&cm2, "sim");
        let stored = move || rows_out(&pm2, "clickhouse");
        let counts = move || {
            let mut v: Vec<String> = cm
                .all()
                .into_iter()
                .chain(pm.all())
                .map(|(id, _, m)| {
                    let commits = match m.commit_latency.quantile(0.5) {
                        Some(d) => format!(" commit p50 {:.0} ms", d.as_secs_f64() * 1e3),
                        None => String::new(),
                    };
                    format!(
                        "{id} in {} out {}{commits} errors {}",
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
        let mut fed_secs = None;
        loop {
            if fed_secs.is_none() && fed() >= ticks {
                fed_secs = Some(started.elapsed().as_secs_f64());
            }
            // The sink counts rows once ClickHouse acknowledged their
            // insert; the server is asked only then, so the polling does
            // not take CPU from the lane it measures.
            let committed = stored();
            let n: u64 = if committed >= ticks {
                ch.query(&count_sql)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0)
            } else {
                committed
            };
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
        Ok(PhaseTimes {
            secs,
            fed_secs: fed_secs.unwrap_or(secs),
        })
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
