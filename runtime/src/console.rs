//! What labbook shows on the terminal: its own diagnostics through `tracing`.

use tracing_subscriber::EnvFilter;

/// Sends tracing events to stderr (filtered by `RUST_LOG`, default `info`) unless the
/// program has installed a subscriber of its own.
pub(crate) fn init_tracing() {
    if tracing::dispatcher::has_been_set() {
        return;
    }
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
