//! `qdp demo-realtime`: the realtime lane on this machine, when its
//! services are installed (`scripts/services.sh install`). It starts a
//! throwaway tansu broker and clickhouse-server, runs the connector
//! (simulated ticks → disk buffer → map → validate → Kafka) and the
//! processor (Kafka consumer group → ClickHouse) until every tick is
//! queryable, and prints what an analyst would query.

use crate::bench_realtime::{Feed, Lane};
use qdp_test_services::{ClickHouse, Kafka};

/// Runs the lane demo, or explains how to get its services.
pub async fn run(ticks: u64) -> Result<(), String> {
    let (Some(kafka), Some(ch)) = (Kafka::start(), ClickHouse::start()) else {
        println!(
            "realtime lane: skipped (run `bash scripts/services.sh install` for tansu and clickhouse-server)"
        );
        return Ok(());
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let lane = Lane::start(&kafka, &ch, dir.path()).await?;
    let feed = Feed::paced("demo", ticks, 50_000.0, "market_sim");
    let secs = lane.phase(&feed, &ch).await?.secs;
    let rate = ticks as f64 / secs;
    println!(
        "realtime lane: {ticks} ticks from the feed to ClickHouse in {secs:.1} s ({rate:.0} ticks/s)"
    );
    let q = |sql: &str| ch.query(sql).map_err(|e| format!("{sql}: {e}"));
    println!(
        "\nSELECT source_system_name, symbol_code, count() FROM qdp.derivatives_tick_market_data FINAL GROUP BY 1, 2"
    );
    print!(
        "{}",
        q(
            "SELECT source_system_name, symbol_code, count() FROM qdp.derivatives_tick_market_data FINAL GROUP BY source_system_name, symbol_code ORDER BY symbol_code FORMAT PrettyCompactNoEscapes"
        )?
    );
    // Servers without DateTime64 keep nanoseconds plus a `_dt` DateTime column.
    let has_dt = q(
        "SELECT count() FROM system.columns WHERE database = 'qdp' AND table = 'derivatives_tick_market_data_latest' AND name = 'tick_time_dt'",
    )?;
    let time = if has_dt.trim() == "1" {
        "tick_time_dt"
    } else {
        "tick_time"
    };
    let latest = format!(
        "SELECT symbol_code, price, size, {time} FROM qdp.derivatives_tick_market_data_latest ORDER BY symbol_code"
    );
    println!("\n{latest}");
    print!("{}", q(&format!("{latest} FORMAT PrettyCompactNoEscapes"))?);
    println!(
        "\nThe services were throwaway; run the lane against your own with examples/pipelines/realtime-*.toml."
    );
    Ok(())
}
