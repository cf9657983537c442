//! The SDK conformance kit against the built `kafka` sink library and a real
//! broker, in both formats. `read_back` counts rows as a reader that drops
//! replays (by the `qdp.*` headers) sees them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use qdp_sdk::conformance;
use qdp_test_services::Kafka;
use serde_json::json;

#[test]
fn the_kafka_sink_conforms_in_both_formats() {
    let Some(kafka) = Kafka::start() else { return };
    for format in ["json", "arrow"] {
        let topic = format!("conformance_{format}");
        let options = json!({
            "brokers": kafka.bootstrap(),
            "topic": topic,
            "format": format,
            "fallback_key": "symbol",
            "partitions": 3,
        });
        let bootstrap = kafka.bootstrap();
        conformance::sink(
            conformance::built_library("qdp_sink_kafka").unwrap(),
            options,
        )
        .bad_options(json!({ "brokers": "" }))
        .bad_options(json!({ "brokers": kafka.bootstrap(), "format": "xml" }))
        .bad_options(json!({ "brokers": kafka.bootstrap(), "topic": "no spaces {category}" }))
        .bad_options(json!({ "brokers": kafka.bootstrap(), "partitions": 0 }))
        .bad_options(json!({
            "brokers": kafka.bootstrap(),
            "properties": { "enable.idempotence": "false" }
        }))
        .bad_options(json!({
            "brokers": kafka.bootstrap(),
            "properties": { "no.such.property": "1" }
        }))
        .read_back(move || {
            common::read_topic(&bootstrap, &topic).map(|m| common::distinct_rows(&m))
        })
        .run()
        .assert_passed();
    }
}
