//! Ctrl-C, SIGTERM and SIGHUP: every active run is flushed and marked `FAILED` with the
//! error `interrupted` (its run directory and `info.json` first, then its backends, all
//! within [`GRACE`]), then the process exits with status 130. A second signal exits at once.
//!
//! The handler is installed at a run start that finds all three signals with their default
//! action, unless [`Settings`](crate::Settings) or `LABBOOK_SIGNALS=off` turn it off. A
//! program's own handler, or a signal ignored (`nohup`), leaves signals to the program;
//! each run start checks again until labbook's handler is in place.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use super::{active, Status};

/// How long an interrupted process waits for its runs to reach the disk.
const GRACE: Duration = Duration::from_secs(10);
const EXIT_CODE: i32 = 130;

/// Whether labbook's handler is installed; held while installing, so that two runs
/// starting at once try once.
static INSTALLED: Mutex<bool> = Mutex::new(false);

/// Installs the handler, unless the settings turn it off or the program handles (or
/// ignores) one of the signals. Called at every run start.
pub(super) fn install() {
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if *installed || !crate::settings::signals() {
        return;
    }
    match ctrlc::try_set_handler(on_signal) {
        Ok(()) => *installed = true,
        Err(e) => tracing::debug!("labbook leaves signals to the program: {e}"),
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
