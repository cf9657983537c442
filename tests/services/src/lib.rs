//! Real services for qdp's tests, started by the tests themselves.
//!
//! * [`Kafka`]: a Kafka-protocol broker (tansu) with SQLite storage.
//! * [`ClickHouse`]: a `clickhouse-server` with its data in a temp dir.
//! * [`S3`]: an S3-compatible server (s3s-fs) on a temp dir.
//!
//! Each runs on ephemeral loopback ports in its own temporary directory and
//! is killed when dropped, so `cargo test` leaves nothing behind.
//! `scripts/services.sh install` installs them (`.ci/run` calls it).
//!
//! When a service's program is missing, the constructors return `None` after
//! printing why, so a developer laptop can run the rest of the suite; with
//! `QDP_REQUIRE_SERVICES=1` (set by `.ci/run`) they panic instead, so CI
//! fails loudly rather than skipping.

mod clickhouse;
mod kafka;
mod process;
mod s3;

pub use clickhouse::ClickHouse;
pub use kafka::Kafka;
pub use process::{free_port, tools_dir};
pub use s3::S3;

/// Whether a missing service must fail the test rather than skip it.
pub fn required() -> bool {
    std::env::var("QDP_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true")
}

/// Reports a missing service: a panic in CI, a printed skip elsewhere.
fn missing<T>(service: &str, why: &str) -> Option<T> {
    let msg = format!(
        "{service} is not available: {why}; run `bash scripts/services.sh install` to install it"
    );
    if required() {
        panic!("{msg} (QDP_REQUIRE_SERVICES=1)");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// A file of the real published sample data (`shared/data/real`, read as it
/// is, never copied into the repository): at `QDP_REAL_DATA`, next to the
/// checkout, or at the workplace's `/work/shared`. Panics naming every place
/// it looked, so a missing data set fails a test loudly.
pub fn real_data(rel: &str) -> std::path::PathBuf {
    let candidates: Vec<std::path::PathBuf> = std::env::var_os("QDP_REAL_DATA")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain([
            std::path::PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/data/real"
            )),
            std::path::PathBuf::from("/work/shared/data/real"),
        ])
        .collect();
    candidates
        .iter()
        .map(|d| d.join(rel))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "{rel} not found in {candidates:?}; set QDP_REAL_DATA to the real data directory"
            )
        })
}
