//! Whether and how often a run samples: `#[experiment(system = …)]`, `LABBOOK_SYSTEM` and
//! `LABBOOK_SYSTEM_INTERVAL`.

use std::time::Duration;

/// The interval when neither `system = "…"` nor `LABBOOK_SYSTEM_INTERVAL` gives one.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// How often this run samples, or `None` when it does not: `LABBOOK_SYSTEM=off` or
/// `system = off` (`off`) turn it off; `system = "5s"` (`every`) wins over
/// `LABBOOK_SYSTEM_INTERVAL`, which wins over [`DEFAULT_INTERVAL`]. A bad variable is one
/// warning, naming it.
pub(crate) fn interval(off: bool, every: Option<Duration>) -> Option<Duration> {
    let switch = std::env::var("LABBOOK_SYSTEM").unwrap_or_default();
    match switch.trim().to_ascii_lowercase().as_str() {
        "off" | "false" | "0" => return None,
        "" | "on" | "true" | "1" => {}
        other => tracing::warn!(
            "LABBOOK_SYSTEM is `{other}`, which labbook does not know; system metrics stay on (set LABBOOK_SYSTEM=off to turn them off)"
        ),
    }
    if off {
        return None;
    }
    Some(every.unwrap_or_else(from_env))
}

/// `LABBOOK_SYSTEM_INTERVAL`, or the default (with one warning) when it is not an interval.
fn from_env() -> Duration {
    let Ok(text) = std::env::var("LABBOOK_SYSTEM_INTERVAL") else {
        return DEFAULT_INTERVAL;
    };
    if text.trim().is_empty() {
        return DEFAULT_INTERVAL;
    }
    crate::options::interval(&text).unwrap_or_else(|why| {
        tracing::warn!(
            "LABBOOK_SYSTEM_INTERVAL: {why}; system metrics are sampled every {} s",
            DEFAULT_INTERVAL.as_secs()
        );
        DEFAULT_INTERVAL
    })
}
