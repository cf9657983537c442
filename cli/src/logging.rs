//! Logs through `tracing` to stderr, as text or JSON; `QDP_LOG` filters.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once.
pub fn init(format: &str) {
    let filter = EnvFilter::try_from_env("QDP_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
