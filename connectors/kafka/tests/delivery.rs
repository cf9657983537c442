//! Delivery guarantees against a real broker: a replayed sink write is
//! emitted once, offsets are committed only on ack, and two members of one
//! group share the partitions with every row read once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TICKS, field, read_until, rows, source, source_options, ticks, write};
use qdp_sdk::SourceBatch;
use qdp_sdk::ffi::host::Polled;
use qdp_test_services::Kafka;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const SYMBOLS: &[&str] = &[
    "CLF6", "NGF6", "HOF6", "RBF6", "BZF6", "ESH6", "CLG6", "NGG6",
];

/// Messages in `topic`, replays included (sum of partition watermarks).
fn messages(bootstrap: &str, topic: &str) -> i64 {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    md.topics()[0]
        .partitions()
        .iter()
        .map(|p| {
            let (lo, hi) = c
                .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
                .unwrap();
            hi - lo
        })
        .sum()
}

fn tagged(batches: &[SourceBatch], tag: &str) -> usize {
    rows(batches)
        .iter()
        .filter(|r| field(r, "component_instance_name") == tag)
        .count()
}

/// Whether every one of `n` marker rows (tag `marker`) has arrived: since
/// each symbol keeps its order, anything written before a symbol's marker
/// would have come before it.
fn markers(n: usize) -> impl FnMut(&[SourceBatch]) -> bool {
    move |out| tagged(out, "marker") >= n
}

#[test]
fn a_write_replayed_after_a_crash_is_emitted_once() {
    let Some(kafka) = Kafka::start() else { return };
    let b = kafka.bootstrap();
    for format in ["json", "arrow"] {
        let topic = format!("replay_{format}");
        let sink = json!({ "brokers": b, "format": format, "topic": topic, "partitions": 4 });
        let batches: Vec<_> = (0..4).map(|s| ticks(s, SYMBOLS, 5, "data")).collect();
        write(sink.clone(), &batches);
        // A new sink instance (a restart after a crash before the ack)
        // writes the same batches again; the log holds both copies.
        write(sink.clone(), &batches);
        let per_copy = if format == "json" { 160 } else { 4 * 8 };
        assert_eq!(messages(&b, &topic), 2 * per_copy);
        write(sink, &[ticks(4, SYMBOLS, 1, "marker")]);

        let mut s = source(&source_options(
            &b,
            &format!("replay-{format}"),
            json!([{ "topic": topic, "category": TICKS }]),
        ));
        let got = read_until(&mut s, true, markers(SYMBOLS.len()));
        s.shutdown().unwrap();
        let data: Vec<String> = rows(&got)
            .into_iter()
            .filter(|r| field(r, "component_instance_name") == "data")
            .collect();
        let distinct: BTreeSet<&String> = data.iter().collect();
        assert_eq!(distinct.len(), 160, "{format}: every row");
        assert_eq!(data.len(), 160, "{format}: each row once");
    }
}

#[test]
fn offsets_are_committed_only_when_a_batch_is_acknowledged() {
    let Some(kafka) = Kafka::start() else { return };
    let b = kafka.bootstrap();
    let sink = json!({ "brokers": b, "partitions": 2 });
    let batches: Vec<_> = (0..6).map(|s| ticks(s, SYMBOLS, 5, "data")).collect();
    write(sink.clone(), &batches);
    let opts = source_options(&b, "ack-test", json!([TICKS]));

    // Read everything, acknowledge nothing, go away.
    let mut first = source(&opts);
    let all = read_until(&mut first, false, |out| rows(out).len() >= 240);
    first.shutdown().unwrap();
    drop(first);

    // Same group: everything comes again. Acknowledge up to a batch in the
    // middle, then go away.
    let mut second = source(&opts);
    let again = read_until(&mut second, false, |out| rows(out).len() >= 240);
    assert_eq!(rows(&again).len(), 240, "un-acked rows come again, once");
    let mid = again.len() / 2;
    second.ack(&again[mid].checkpoint).unwrap();
    second.shutdown().unwrap();
    drop(second);
    let acked: BTreeSet<String> = rows(&again[..=mid]).into_iter().collect();
    let rest: BTreeSet<String> = rows(&again[mid + 1..]).into_iter().collect();
    assert_eq!(acked.len() + rest.len(), rows(&all).len());

    // Only what came after the acknowledged batch comes again.
    write(sink.clone(), &[ticks(6, SYMBOLS, 1, "marker")]);
    let mut third = source(&opts);
    let after = read_until(&mut third, false, markers(SYMBOLS.len()));
    let data: BTreeSet<String> = rows(&after)
        .into_iter()
        .filter(|r| field(r, "component_instance_name") == "data")
        .collect();
    assert_eq!(data, rest, "exactly the rows after the acknowledged batch");
    assert_eq!(tagged(&after, "data"), rest.len(), "each once");
    third.ack(&after.last().unwrap().checkpoint).unwrap();
    third.shutdown().unwrap();
    drop(third);

    // After the last ack nothing old comes back.
    write(sink, &[ticks(7, SYMBOLS, 1, "marker2")]);
    let mut fourth = source(&opts);
    let last = read_until(&mut fourth, false, |out| {
        tagged(out, "marker2") >= SYMBOLS.len()
    });
    assert_eq!(rows(&last).len(), SYMBOLS.len(), "{:?}", rows(&last));
    fourth.shutdown().unwrap();
}

#[test]
fn two_members_of_a_group_share_the_partitions_and_read_every_row_once() {
    let Some(kafka) = Kafka::start() else { return };
    let b = kafka.bootstrap();
    let sink = json!({ "brokers": b, "partitions": 4 });
    let opts = source_options(&b, "shared", json!([TICKS]));
    let mut members = [source(&opts), source(&opts)];
    let mut got: [Vec<SourceBatch>; 2] = [Vec::new(), Vec::new()];
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut round = 0u64;
    // Write round after round until both members have had rows of the
    // same round: the group has split the partitions between them.
    loop {
        let tag = format!("round{round}");
        write(sink.clone(), &[ticks(round, SYMBOLS, 2, &tag)]);
        let want = 2 * SYMBOLS.len();
        let mut per_member = [0, 0];
        while per_member.iter().sum::<usize>() < want {
            assert!(
                Instant::now() < deadline,
                "round {round}: {per_member:?} of {want}"
            );
            for (i, m) in members.iter_mut().enumerate() {
                if let Polled::Batch(batch) = m.poll(Duration::from_millis(50)).unwrap() {
                    // Acknowledged at once, as a runtime with instant sinks would.
                    m.ack(&batch.checkpoint).unwrap();
                    per_member[i] += tagged(std::slice::from_ref(&batch), &tag);
                    got[i].push(batch);
                }
            }
        }
        assert_eq!(per_member.iter().sum::<usize>(), want, "round {round}");
        if per_member.iter().all(|n| *n > 0) {
            break;
        }
        round += 1;
    }
    for m in &mut members {
        m.shutdown().unwrap();
    }
    let all: Vec<String> = got.iter().flat_map(|g| rows(g)).collect();
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!(all.len(), distinct.len(), "no row read twice");
    assert_eq!(
        all.len(),
        (round as usize + 1) * 2 * SYMBOLS.len(),
        "every row"
    );
    eprintln!(
        "rows per member: {} and {}, after {} round(s)",
        rows(&got[0]).len(),
        rows(&got[1]).len(),
        round + 1
    );
}

#[test]
fn the_source_carries_on_when_the_broker_restarts() {
    let Some(mut kafka) = Kafka::start() else {
        return;
    };
    let b = kafka.bootstrap();
    let sink = json!({ "brokers": b, "partitions": 2 });
    write(
        sink.clone(),
        &(0..4)
            .map(|s| ticks(s, SYMBOLS, 5, "before"))
            .collect::<Vec<_>>(),
    );
    let mut s = source(&source_options(&b, "restart", json!([TICKS])));
    let mut got = read_until(&mut s, true, |out| rows(out).len() >= 160);
    kafka.kill();
    // Polling while the broker is down is not an error.
    for _ in 0..5 {
        assert!(matches!(
            s.poll(Duration::from_millis(100)).unwrap(),
            Polled::Pending
        ));
    }
    kafka.restart();
    write(
        sink,
        &(4..8)
            .map(|s| ticks(s, SYMBOLS, 5, "after"))
            .collect::<Vec<_>>(),
    );
    got.extend(read_until(&mut s, true, |out| tagged(out, "after") >= 160));
    s.shutdown().unwrap();
    let all = rows(&got);
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), 320, "every row");
    assert_eq!(all.len(), 320, "each once");
}
