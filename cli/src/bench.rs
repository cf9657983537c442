//! `qdp bench`: the foundation benchmark (written next).

/// Runs a named benchmark.
pub async fn main(name: &str, ticks: u64, runs: usize) -> Result<(), String> {
    let _ = (ticks, runs);
    Err(format!("bench {name}: pending"))
}
