//! Structured logs for every CityGrid process: human-readable on a terminal, JSON lines
//! otherwise (so a log shipper needs no parser), filtered by `RUST_LOG` (default `info`,
//! the scheduler's own start-up chatter left out).

use tracing_subscriber::{EnvFilter, fmt};

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tokio_cron_scheduler=warn"));
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
}
