//! Process-wide choices a program makes in code: whether labbook may install its `tracing`
//! subscriber and its Ctrl-C/SIGTERM handler. Read at every run start; a choice made in code
//! wins over the environment (`LABBOOK_TRACING`, `LABBOOK_SIGNALS`), which wins over the
//! default (both on).

use std::sync::RwLock;

/// What labbook may do to the whole process when a run starts.
///
/// By default, for the convenience of a training binary, the first run start that finds
/// the process without them installs:
///
/// - **a global `tracing` subscriber** that writes events to stderr (filtered by
///   `RUST_LOG`, default `info`) and, while a run is active, to its `logs/labbook.log`; it
///   also forwards the records of the `log` crate when the program has no logger;
/// - **a Ctrl-C and SIGTERM handler** (SIGHUP too) that saves every active run, marks it
///   `FAILED` with the error `interrupted`, and exits with status 130.
///
/// Each is installed only if the program has none: a subscriber the program set, or a
/// signal that does not have its default action (a handler of the program's, or one that
/// `nohup` ignores), is left alone. Both checks are made again at every run start, not
/// only the first.
///
/// A library, a test harness or a program with its own logging or shutdown turns them off
/// here, before its first run:
///
/// ```
/// labbook::Settings::new().tracing(false).signals(false).apply();
/// ```
///
/// The environment does the same without a rebuild (`LABBOOK_TRACING=off`,
/// `LABBOOK_SIGNALS=off`); a choice made in code wins over the environment. Settings take
/// effect at the next run start. Neither a subscriber nor a handler can be removed once
/// installed, so a program that sets its own global subscriber or Ctrl-C handler does so
/// before its first run, or turns labbook's off: after a run in which labbook installed
/// its subscriber, `tracing::subscriber::set_global_default` returns an error. A program
/// with its own subscriber keeps the run log files by adding [`run_log_layer`] to it.
///
/// [`run_log_layer`]: crate::run_log_layer
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    tracing: Option<bool>,
    signals: Option<bool>,
}

/// What the program has applied so far.
static APPLIED: RwLock<Settings> = RwLock::new(Settings::new());

impl Settings {
    /// Settings that change nothing: each choice left to the environment, then the default.
    pub const fn new() -> Settings {
        Settings {
            tracing: None,
            signals: None,
        }
    }

    /// Whether labbook may install its global `tracing` subscriber (stderr and the run's
    /// `logs/labbook.log`) when the process has none. With `false`, labbook's own warnings
    /// go to the program's subscriber, or nowhere without one.
    #[must_use = "settings take effect through `apply`"]
    pub const fn tracing(mut self, install: bool) -> Settings {
        self.tracing = Some(install);
        self
    }

    /// Whether labbook may install its Ctrl-C, SIGTERM and SIGHUP handler when those
    /// signals have their default action. With `false`, signals are left to the program.
    #[must_use = "settings take effect through `apply`"]
    pub const fn signals(mut self, install: bool) -> Settings {
        self.signals = Some(install);
        self
    }

    /// Makes the choices set on this value the process's, from the next run start on;
    /// choices it leaves unset keep their earlier value.
    pub fn apply(self) {
        let mut applied = APPLIED.write().unwrap_or_else(|e| e.into_inner());
        *applied = applied.overridden_by(self);
    }

    /// These settings with the choices `later` makes.
    fn overridden_by(self, later: Settings) -> Settings {
        Settings {
            tracing: later.tracing.or(self.tracing),
            signals: later.signals.or(self.signals),
        }
    }
}

fn applied() -> Settings {
    *APPLIED.read().unwrap_or_else(|e| e.into_inner())
}

/// Whether labbook may install its subscriber now.
pub(crate) fn tracing() -> bool {
    decide(applied().tracing, "LABBOOK_TRACING")
}

/// Whether labbook may install its signal handler now.
pub(crate) fn signals() -> bool {
    decide(applied().signals, "LABBOOK_SIGNALS")
}

fn decide(code: Option<bool>, variable: &str) -> bool {
    code.unwrap_or_else(|| !is_off(std::env::var(variable).ok().as_deref()))
}

/// `off`, `0` and `false` turn a switch off; anything else, or nothing, leaves it on.
fn is_off(value: Option<&str>) -> bool {
    matches!(value, Some("off" | "0" | "false"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_wins_over_the_environment() {
        std::env::set_var("LABBOOK_TEST_SWITCH_OFF", "off");
        std::env::set_var("LABBOOK_TEST_SWITCH_ON", "on");
        assert!(decide(Some(true), "LABBOOK_TEST_SWITCH_OFF"));
        assert!(!decide(Some(false), "LABBOOK_TEST_SWITCH_ON"));
        assert!(!decide(None, "LABBOOK_TEST_SWITCH_OFF"));
        assert!(decide(None, "LABBOOK_TEST_SWITCH_ON"));
        assert!(decide(None, "LABBOOK_TEST_SWITCH_UNSET"));
    }

    #[test]
    fn off_is_spelled_three_ways() {
        for off in ["off", "0", "false"] {
            assert!(is_off(Some(off)), "{off}");
        }
        for on in ["on", "1", "true", "", "yes"] {
            assert!(!is_off(Some(on)), "{on}");
        }
        assert!(!is_off(None));
    }

    #[test]
    fn apply_keeps_the_choices_it_leaves_unset() {
        let first = Settings::new().tracing(false);
        let both = first.overridden_by(Settings::new().signals(false));
        assert_eq!(both, Settings::new().tracing(false).signals(false));
        let again = both.overridden_by(Settings::new().tracing(true));
        assert_eq!(again, Settings::new().tracing(true).signals(false));
    }
}
