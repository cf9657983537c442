//! The services start, answer, survive a kill and restart, and go away.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use qdp_test_services::{ClickHouse, Kafka, S3};
use std::net::TcpStream;

#[test]
fn clickhouse_starts_answers_and_restarts_with_its_data() {
    let Some(mut ch) = ClickHouse::start() else {
        return;
    };
    assert!(!ch.version().is_empty());
    ch.query("CREATE TABLE t (x UInt64) ENGINE = MergeTree ORDER BY x")
        .unwrap();
    ch.query("INSERT INTO t VALUES (1), (2)").unwrap();
    ch.kill();
    assert!(
        ch.query("SELECT 1").is_err(),
        "a killed server still answers"
    );
    ch.restart();
    assert_eq!(ch.query("SELECT count() FROM t").unwrap().trim(), "2");
    let err = ch.query("SELECT nope FROM t").unwrap_err();
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn kafka_starts_listens_and_stops() {
    let Some(mut k) = Kafka::start() else {
        return;
    };
    let addr = k.bootstrap();
    assert!(TcpStream::connect(&addr).is_ok());
    k.kill();
    assert!(
        TcpStream::connect(&addr).is_err(),
        "a killed broker still listens"
    );
    k.restart();
    assert!(TcpStream::connect(&addr).is_ok());
}

#[test]
fn s3_starts_makes_buckets_and_restarts_with_its_data() {
    let Some(mut s3) = S3::start() else {
        return;
    };
    let addr = s3.endpoint().trim_start_matches("http://").to_string();
    assert!(TcpStream::connect(&addr).is_ok());
    let bucket = s3.create_bucket("lake");
    std::fs::create_dir_all(bucket.join("a/b")).unwrap();
    std::fs::write(bucket.join("a/b/c.csv"), b"x").unwrap();
    std::fs::write(bucket.join(".hidden"), b"x").unwrap();
    assert_eq!(s3.keys("lake"), vec!["a/b/c.csv".to_string()]);
    s3.kill();
    assert!(
        TcpStream::connect(&addr).is_err(),
        "a killed server still listens"
    );
    s3.restart();
    assert!(TcpStream::connect(&addr).is_ok(), "{}", s3.log_tail());
    assert_eq!(s3.keys("lake"), vec!["a/b/c.csv".to_string()]);
}
