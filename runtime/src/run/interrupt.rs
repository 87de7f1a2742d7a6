//! Ctrl-C, SIGTERM and SIGHUP: every active run is flushed and marked `FAILED` with the
//! error `interrupted` (its run directory and `info.json` first, then its backends, all
//! within [`GRACE`]), then the process exits with status 130. A second signal exits at once.
//!
//! Each signal is taken at a run start that finds it with its default action, unless
//! [`Settings`](crate::Settings) or `LABBOOK_SIGNALS=off` turn signals off. A signal the
//! program handles or ignores is left to it: under `nohup`, SIGHUP stays ignored while
//! Ctrl-C and SIGTERM still save the run. Each run start checks again for the signals
//! labbook does not hold yet. On Linux the dispositions are read from `/proc/self/status`;
//! elsewhere on Unix every signal counts as default, and a program's own handler still runs
//! after labbook's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use super::{active, Status};

/// How long an interrupted process waits for its runs to reach the disk.
const GRACE: Duration = Duration::from_secs(10);
const EXIT_CODE: i32 = 130;

/// The signals labbook holds; held while installing, so that two runs starting at once
/// take each signal once.
#[cfg(unix)]
static HELD: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Takes the signals that still have their default action, unless the settings turn
/// signals off. Called at every run start.
#[cfg(unix)]
pub(super) fn install() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    if !crate::settings::signals() {
        return;
    }
    let defaults = disposition::Defaults::read();
    let free: Vec<i32> = [SIGINT, SIGTERM, SIGHUP]
        .into_iter()
        .filter(|signal| !held.contains(signal) && defaults.is_default(*signal))
        .collect();
    if free.is_empty() {
        return;
    }
    let listening = signal_hook::iterator::Signals::new(&free).and_then(|mut signals| {
        std::thread::Builder::new()
            .name("labbook-signals".into())
            .spawn(move || signals.forever().for_each(|_| on_signal()))
    });
    match listening {
        Ok(_) => held.extend(free),
        Err(e) => tracing::debug!("labbook leaves signals to the program: {e}"),
    }
}

/// Installs the Ctrl-C handler, unless the settings turn it off or the program has one.
#[cfg(not(unix))]
pub(super) fn install() {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if *installed || !crate::settings::signals() {
        return;
    }
    match ctrlc::try_set_handler(on_signal) {
        Ok(()) => *installed = true,
        Err(e) => tracing::debug!("labbook leaves signals to the program: {e}"),
    }
}

/// Whether a signal still has its default action in this process.
#[cfg(unix)]
mod disposition {
    /// The signals that are ignored or caught, as bit masks (bit `n - 1` for signal `n`).
    pub(super) struct Defaults {
        taken: u64,
    }

    impl Defaults {
        /// On Linux: the `SigIgn:` and `SigCgt:` masks of `/proc/self/status`, read once.
        /// Elsewhere the disposition cannot be read without `unsafe`: all count as default.
        pub(super) fn read() -> Defaults {
            let status = if cfg!(target_os = "linux") {
                std::fs::read_to_string("/proc/self/status").unwrap_or_default()
            } else {
                String::new()
            };
            let mask = |field: &str| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix(field))
                    .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
                    .unwrap_or(0)
            };
            Defaults {
                taken: mask("SigIgn:") | mask("SigCgt:"),
            }
        }

        /// Whether `signal` is neither ignored nor caught.
        pub(super) fn is_default(&self, signal: i32) -> bool {
            self.taken & (1u64 << (signal - 1)) == 0
        }
    }
}

/// Saves the active runs and exits; a second signal exits at once.
fn on_signal() {
    static INTERRUPTED: AtomicBool = AtomicBool::new(false);
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        eprintln!("labbook: interrupted again, exiting now");
        std::process::exit(EXIT_CODE);
    }
    eprintln!("labbook: interrupted; saving the run (press Ctrl-C again to exit at once)");
    let (done, wait) = mpsc::channel();
    let runs = active::all();
    let ending = runs.clone();
    std::thread::spawn(move || {
        // Each run is saved on its own thread: one slow backend holds up no other run.
        std::thread::scope(|scope| {
            for run in &ending {
                scope.spawn(|| run.end(Status::Failed, Some("interrupted".to_owned())));
            }
        });
        let _ = done.send(());
    });
    std::thread::spawn(move || {
        if wait.recv_timeout(GRACE).is_err() {
            if runs.iter().all(|run| run.saved()) {
                eprintln!(
                    "labbook: the run directory is saved; backends still sending after {} s were stopped (`labbook sync` uploads what MLflow missed)",
                    GRACE.as_secs()
                );
            } else {
                eprintln!(
                    "labbook: the run did not reach the disk within {} s",
                    GRACE.as_secs()
                );
            }
        }
        std::process::exit(EXIT_CODE);
    });
}
