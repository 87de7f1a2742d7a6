//! Ctrl-C and SIGTERM: every active run is flushed and marked `FAILED` with the error
//! `interrupted` (its run directory and `info.json` first, then its backends, all within
//! [`GRACE`]), then the process exits with status 130. A second signal
//! exits at once. `LABBOOK_SIGNALS=off` leaves signals to the program.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Once};
use std::time::Duration;

use super::{active, Status};

/// How long an interrupted process waits for its runs to reach the disk.
const GRACE: Duration = Duration::from_secs(10);
const EXIT_CODE: i32 = 130;

pub(super) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        if std::env::var("LABBOOK_SIGNALS")
            .is_ok_and(|v| matches!(v.as_str(), "off" | "0" | "false"))
        {
            return;
        }
        static INTERRUPTED: AtomicBool = AtomicBool::new(false);
        let installed = ctrlc::set_handler(|| {
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
        });
        if let Err(e) = installed {
            tracing::debug!("labbook leaves signals to the program: {e}");
        }
    });
}
