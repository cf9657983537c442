//! The SDK conformance kit against the built `kafka` source and a real
//! broker holding ticks written by the built `kafka` sink.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TICKS, ticks, write};
use qdp_sdk::conformance;
use qdp_test_services::Kafka;
use serde_json::json;

#[test]
fn the_kafka_source_conforms() {
    let Some(kafka) = Kafka::start() else { return };
    let b = kafka.bootstrap();
    let batches: Vec<_> = (0..12)
        .map(|s| ticks(s, &["CLF6", "NGF6"], 10, "c"))
        .collect();
    write(json!({ "brokers": b, "partitions": 1 }), &batches);
    let options = json!({
        "brokers": b,
        "group_id": "conformance",
        "topics": [TICKS],
        "batch_size": 20,
        "max_wait": "50ms",
    });
    conformance::source(conformance::built_library("qdp_kafka").unwrap(), options)
        .bad_options(json!({ "brokers": b, "group_id": "g", "topics": [] }))
        .bad_options(json!({ "brokers": b, "group_id": "", "topics": [TICKS] }))
        .bad_options(json!({ "brokers": b, "group_id": "g", "topics": [TICKS], "batch_size": 0 }))
        .bad_options(json!({ "brokers": b, "group_id": "g", "topics": [TICKS], "format": "xml" }))
        .bad_options(json!({
            "brokers": b, "group_id": "g", "topics": [TICKS],
            "properties": { "enable.auto.commit": "true" }
        }))
        .bad_options(json!({
            "brokers": b, "group_id": "g", "topics": [TICKS],
            "properties": { "no.such.property": "1" }
        }))
        .empty_options(json!({
            "brokers": b,
            "group_id": "conformance-empty",
            "topics": ["no_such_topic_yet"],
            "max_wait": "50ms",
        }))
        // Fewer than written, so a resumed read never waits for more.
        .max_batches(4)
        .run()
        .assert_passed();
}
