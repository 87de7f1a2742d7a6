//! The live mirror's uploader thread. The writer thread only tells it that something new is
//! in the run directory (a channel send, never a wait); the thread uploads from the files,
//! so the local store holds the backlog while the server is slow or down, and retries with
//! backoff. At the end of the run it makes a last pass with a time limit; what it cannot
//! send then is left for `labbook sync`.
//!
//! The end of a run waits at most [`FINISH_TIMEOUT`] (60 s, within the 70 s the writer gives
//! every backend), or [`INTERRUPTED_TIMEOUT`] (5 s) for an interrupted run, so that the count
//! of what was not sent reaches `info.json` within the 10 s an interrupt allows. The wait
//! includes a request already under way: a server that takes connections and never answers
//! holds it up no longer than that. When the time is up the uploader is left behind and makes
//! no further request; `metadata/mlflow.json` holds what the server confirmed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::engine::{Done, Engine, Pass};
use super::MlflowError;

/// The least time between two passes while the run goes on: points are sent in batches.
const INTERVAL: Duration = Duration::from_millis(500);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(16);
/// The longest one pass goes on before it looks for new messages.
const SLICE: Duration = Duration::from_secs(5);
/// The longest the end of a run waits for the last upload.
pub(crate) const FINISH_TIMEOUT: Duration = Duration::from_secs(60);
/// The same for an interrupted run: half of the interrupt's 10 s grace.
pub(crate) const INTERRUPTED_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) enum Message {
    /// New points are in the files; `files` when a file, image or checkpoint was logged.
    Logged {
        files: bool,
        params: Vec<(String, String)>,
        /// The run's tags, group or notes changed.
        tags: bool,
    },
    /// The run ended with this status at this time (ms); send within the time given and
    /// answer when done.
    End(&'static str, i64, Duration, mpsc::SyncSender<()>),
}

/// The sending side, owned by the backend.
#[derive(Debug)]
pub(crate) struct Uploader {
    sender: Sender<Message>,
    thread: Option<JoinHandle<()>>,
    /// Tells the thread that nobody waits for it any more.
    abandoned: Arc<AtomicBool>,
}

impl Uploader {
    pub fn spawn(engine: Engine) -> std::io::Result<Uploader> {
        let (sender, receiver) = mpsc::channel();
        let abandoned = Arc::clone(&engine.abandoned);
        let thread = thread::Builder::new()
            .name("labbook-mlflow".into())
            .spawn(move || Mirror::new(engine).run(&receiver))?;
        Ok(Uploader {
            sender,
            thread: Some(thread),
            abandoned,
        })
    }

    pub fn send(&self, message: Message) {
        let _ = self.sender.send(message);
    }

    /// Asks for the last pass and waits for it, at most `limit` in all; whether it ended in
    /// time. When it did not, the uploader makes no further request.
    pub fn end(&mut self, status: &'static str, end_time: i64, limit: Duration) -> bool {
        let (done, wait) = mpsc::sync_channel(1);
        self.send(Message::End(status, end_time, limit, done));
        if wait.recv_timeout(limit).is_ok() {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
            return true;
        }
        self.abandoned.store(true, Ordering::Release);
        false
    }
}

struct Mirror {
    engine: Engine,
    label: String,
    /// Since when uploads fail, and when to try again.
    failing: Option<Instant>,
    backoff: Duration,
    /// Set when the server refused the run for good (credentials): the mirror stops.
    stopped: bool,
}

impl Mirror {
    fn new(engine: Engine) -> Mirror {
        let label = engine.run.label();
        Mirror {
            engine,
            label,
            failing: None,
            backoff: FIRST_BACKOFF,
            stopped: false,
        }
    }

    fn run(mut self, receiver: &Receiver<Message>) {
        // A resumed run is shown running again; the end sets its status anyway.
        if let Err(e) = self.engine.reopen() {
            tracing::debug!(
                "run {} is not marked running again on the MLflow server: {e}",
                self.label
            );
        }
        let mut next = Instant::now();
        let mut files = true;
        loop {
            let wait = next.saturating_duration_since(Instant::now());
            match receiver.recv_timeout(wait) {
                Ok(Message::Logged {
                    files: f,
                    params,
                    tags,
                }) => {
                    files |= f;
                    self.engine.tags_due |= tags;
                    self.engine.logged_params.extend(params);
                    continue;
                }
                Ok(Message::End(status, end_time, limit, done)) => {
                    self.end(status, end_time, limit);
                    let _ = done.send(());
                    return;
                }
                Err(RecvTimeoutError::Timeout) if Instant::now() < next => continue,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if self.stopped {
                next = Instant::now() + MAX_BACKOFF * 100;
                continue;
            }
            // A long backlog is sent in slices, so that the end of the run is heard.
            self.engine.deadline = Some((Instant::now() + SLICE, SLICE));
            let result = self.engine.pass(Pass {
                files,
                ..Pass::default()
            });
            report(&self.label, &self.engine.take_done());
            match result {
                Ok(()) => {
                    files = false;
                    self.succeeded();
                    next = Instant::now() + INTERVAL;
                }
                Err(MlflowError::Deadline(_)) => next = Instant::now(),
                Err(e) => next = Instant::now() + self.failed(&e),
            }
        }
    }

    fn succeeded(&mut self) {
        if let Some(since) = self.failing.take() {
            tracing::info!(
                "the MLflow server is back after {:.0} s; run {} is being sent from where it stopped",
                since.elapsed().as_secs_f64(),
                self.label
            );
        }
        self.backoff = FIRST_BACKOFF;
    }

    /// Reports a failure once and returns how long to wait before the next try.
    fn failed(&mut self, error: &MlflowError) -> Duration {
        self.record(error);
        if !error.is_retryable() {
            tracing::error!(
                "MLflow mirror of run {} stopped: {error}. The run goes on locally; upload it later with `labbook sync`",
                self.label
            );
            self.stopped = true;
            return MAX_BACKOFF;
        }
        if self.failing.is_none() {
            self.failing = Some(Instant::now());
            tracing::warn!(
                "{error}; run {} goes on and its points wait in the local run until the server answers",
                self.label
            );
        }
        let wait = self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        wait
    }

    fn record(&mut self, error: &MlflowError) {
        self.engine.state.last_error = Some(error.to_string());
        self.engine.state.synced = false;
        let _ = self.engine.save();
    }

    /// The last pass: everything, with the terminal status. A server that was down before
    /// the end gets one try; a working one a few, within `limit`.
    fn end(&mut self, status: &'static str, end_time: i64, limit: Duration) {
        if self.stopped {
            tracing::warn!(
                "run {} is complete locally but not on the MLflow server: upload it with `labbook sync {}`",
                self.label,
                self.engine.run.dir.display()
            );
            return;
        }
        let start = Instant::now();
        self.engine.deadline = Some((start + limit, limit));
        let tries = if self.failing.is_some() { 1 } else { 3 };
        let mut wait = Duration::from_millis(500);
        for attempt in 1..=tries {
            let result = self.engine.pass(Pass {
                files: true,
                streams: true,
                end: Some((status, end_time)),
            });
            report(&self.label, &self.engine.take_done());
            match result {
                Ok(()) => {
                    self.succeeded();
                    return;
                }
                Err(e) if attempt < tries && e.is_retryable() && start.elapsed() + wait < limit => {
                    thread::sleep(wait);
                    wait *= 2;
                }
                Err(e) => {
                    self.record(&e);
                    tracing::warn!(
                        "run {} is not fully on the MLflow server ({e}); it is complete locally: upload the rest with `labbook sync {}`",
                        self.label,
                        self.engine.run.dir.display()
                    );
                    return;
                }
            }
        }
    }
}

/// Says once what a pass refused or skipped.
pub(crate) fn report(label: &str, done: &Done) {
    for (key, reason) in &done.rejected {
        let (kind, name) = key.split_once(' ').unwrap_or(("", key));
        if reason == super::engine::LEFT_OUT {
            tracing::warn!("{kind} `{name}` of run {label} is not uploaded to MLflow: {reason}");
        } else {
            tracing::warn!(
                "MLflow refused {kind} `{name}` of run {label}; it is not sent again: {reason}"
            );
        }
    }
    for note in &done.notes {
        tracing::warn!("run {label}: {note}");
    }
}
