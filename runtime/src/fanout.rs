//! Every backend but the local store runs on a thread of its own, fed with shared batches.
//!
//! A backend is isolated twice: a panic in any of its calls is caught, switches that backend
//! off for the rest of the run and is recorded in the run's problems; and a backend that is
//! slow or stuck holds up neither the local store nor the other backends. At the end of a run
//! the backends finish in parallel, within one overall deadline.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::backend::{Backend, BackendError, RunEnd};
use crate::problems::ProblemLog;
use crate::record::Record;

/// Batches a backend may have waiting before the writer waits for it.
const BACKLOG: usize = 64;
/// How long the writer waits for a backend whose backlog is full before that batch is
/// counted as lost for it (the local store already holds it).
const STALL: Duration = Duration::from_secs(30);

enum Job {
    Write(Arc<Vec<Record>>),
    Flush(SyncSender<()>),
    Finish(RunEnd),
}

/// A backend with the name its problems are recorded under.
pub(crate) struct Named {
    pub name: &'static str,
    pub backend: Box<dyn Backend>,
}

impl Named {
    pub fn new(name: &'static str, backend: Box<dyn Backend>) -> Named {
        Named { name, backend }
    }
}

/// Runs one call of a backend, catching a panic. `Err` holds the problem in words.
pub(crate) fn call(
    f: impl FnOnce() -> Result<(), BackendError>,
) -> Result<(), (String, bool /* panicked */)> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err((e.to_string(), false)),
        Err(payload) => Err((format!("panicked: {}", panic_text(&*payload)), true)),
    }
}

pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-text payload".to_owned())
}

/// The thread of one backend, seen from the writer.
struct Lane {
    name: &'static str,
    jobs: SyncSender<Job>,
    thread: JoinHandle<()>,
    /// The lane stopped taking batches (stalled or gone); later batches are counted lost.
    closed: bool,
}

/// The backends other than the local store.
pub(crate) struct Fanout {
    lanes: Vec<Lane>,
    problems: ProblemLog,
}

impl Fanout {
    pub fn start(backends: Vec<Named>, problems: &ProblemLog, dir: &Path) -> Fanout {
        let lanes = backends
            .into_iter()
            .map(|named| {
                let (jobs, rx) = mpsc::sync_channel(BACKLOG);
                let name = named.name;
                let problems = problems.clone();
                let dir = dir.to_owned();
                let thread = thread::Builder::new()
                    .name(format!("labbook-{name}"))
                    .spawn(move || {
                        crate::diagnostics::enter_run_log(&dir);
                        serve(named, rx, &problems)
                    })
                    .expect("labbook could not start a backend thread");
                Lane {
                    name,
                    jobs,
                    thread,
                    closed: false,
                }
            })
            .collect();
        Fanout {
            lanes,
            problems: problems.clone(),
        }
    }

    /// Whether no backend takes batches any more (or none was ever on).
    pub fn is_empty(&self) -> bool {
        self.lanes.iter().all(|l| l.closed)
    }

    /// Hands `batch` to every backend.
    pub fn write(&mut self, batch: &Arc<Vec<Record>>) {
        for lane in &mut self.lanes {
            if lane.closed {
                continue;
            }
            let mut job = Job::Write(Arc::clone(batch));
            let start = Instant::now();
            loop {
                match lane.jobs.try_send(job) {
                    Ok(()) => break,
                    Err(TrySendError::Full(back)) if start.elapsed() < STALL => {
                        job = back;
                        thread::sleep(Duration::from_millis(1));
                    }
                    Err(TrySendError::Full(_)) => {
                        self.problems.backend(
                            lane.name,
                            batch.len() as u64,
                            format_args!(
                                "took no record for {} s; later records go to the run directory only",
                                STALL.as_secs()
                            ),
                        );
                        lane.closed = true;
                        break;
                    }
                    // The thread is gone: it recorded why.
                    Err(TrySendError::Disconnected(_)) => {
                        lane.closed = true;
                        break;
                    }
                }
            }
        }
    }

    /// Asks every backend to flush and waits for each, at most `deadline` in all.
    pub fn flush(&mut self, deadline: Duration) {
        let until = Instant::now() + deadline;
        let mut waits = Vec::new();
        for lane in self.lanes.iter().filter(|l| !l.closed) {
            let (done, wait) = mpsc::sync_channel(1);
            if lane.jobs.try_send(Job::Flush(done)).is_ok() {
                waits.push(wait);
            }
        }
        for wait in waits {
            let left = until.saturating_duration_since(Instant::now());
            let _ = wait.recv_timeout(left);
        }
    }

    /// Tells every backend the run is over; the returned handle waits for them.
    pub fn finish(self, end: &RunEnd) -> Finishing {
        let mut threads = Vec::new();
        for lane in self.lanes {
            // Blocks only while the lane's backlog is full, which it drains.
            let _ = lane.jobs.send(Job::Finish(end.clone()));
            threads.push((lane.name, lane.thread));
        }
        Finishing {
            threads,
            problems: self.problems,
        }
    }
}

/// The backends finishing after the local store is final.
pub(crate) struct Finishing {
    threads: Vec<(&'static str, JoinHandle<()>)>,
    problems: ProblemLog,
}

impl Finishing {
    /// Waits until every backend has finished or `deadline` has passed; a backend still
    /// busy then is recorded as a problem and left behind.
    pub fn wait(self, deadline: Duration) {
        let until = Instant::now() + deadline;
        for (name, thread) in self.threads {
            while !thread.is_finished() && Instant::now() < until {
                thread::sleep(Duration::from_millis(5));
            }
            if thread.is_finished() {
                let _ = thread.join();
            } else {
                self.problems.backend(
                    name,
                    0,
                    format_args!(
                        "did not finish within {} s of the end of the run",
                        deadline.as_secs()
                    ),
                );
            }
        }
    }
}

/// The loop of one backend's thread.
fn serve(mut named: Named, jobs: Receiver<Job>, problems: &ProblemLog) {
    let mut failing = false;
    let mut off = false;
    // Records that arrived after the backend was switched off.
    let mut skipped = 0;
    loop {
        let Ok(job) = jobs.recv() else {
            return;
        };
        let (action, lost, result) = match job {
            Job::Write(batch) if off => {
                skipped += batch.len() as u64;
                continue;
            }
            Job::Write(batch) => {
                let n = batch.len() as u64;
                ("write", n, call(|| named.backend.write(&batch)))
            }
            Job::Flush(done) => {
                let result = if off {
                    Ok(())
                } else {
                    call(|| named.backend.flush())
                };
                let _ = done.send(());
                ("flush", 0, result)
            }
            Job::Finish(end) => {
                if skipped > 0 {
                    problems.backend(
                        named.name,
                        skipped,
                        format_args!("{skipped} record(s) after it was switched off were not sent"),
                    );
                }
                if !off {
                    if let Err((e, _)) = call(|| named.backend.finish(&end)) {
                        tracing::error!("labbook backend `{}` failed to finish: {e}", named.name);
                        problems.backend(named.name, 0, format_args!("failed to finish: {e}"));
                    }
                }
                return;
            }
        };
        match result {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("labbook backend `{}` works again", named.name);
            }
            Ok(()) => {}
            Err((e, true)) => {
                off = true;
                tracing::error!(
                    "labbook backend `{}` {e} and is off for the rest of the run; the run directory has every record",
                    named.name
                );
                problems.backend(named.name, lost, format_args!("{action}: {e}"));
                problems.disable_backend(named.name, format_args!("{action}: {e}"));
            }
            Err((e, false)) => {
                if !failing {
                    tracing::error!("labbook backend `{}` failed to {action}: {e}", named.name);
                }
                failing = true;
                problems.backend(named.name, lost, format_args!("{action}: {e}"));
            }
        }
    }
}
