//! The hand-off between the training thread and the backends: a bounded lock-free queue and
//! one writer thread per run that drains it in batches.
//!
//! Pushing a record is a queue push: no lock, no allocation, no syscall. The writer thread
//! sleeps while the queue is empty and wakes on a short timer, so a push never has to wake
//! it. When the queue is full the training thread waits (no record is ever dropped) and the
//! time it waited is counted and reported in the run's `info.json`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;

use crate::backend::{Backend, RunEnd};
use crate::record::Record;

/// Records the queue holds before the training thread has to wait.
const CAPACITY: usize = 1 << 16;
/// The largest batch handed to the backends at once.
const MAX_BATCH: usize = 8192;
/// How long the writer sleeps when the queue is empty.
const IDLE_WAIT: Duration = Duration::from_millis(20);
/// How often backends are flushed while the run goes on.
const FLUSH_EVERY: Duration = Duration::from_secs(2);

enum Message {
    Record(Record),
    Flush(mpsc::SyncSender<()>),
    Finish(RunEnd),
}

struct Shared {
    queue: ArrayQueue<Message>,
    writer: Thread,
    blocked_nanos: AtomicU64,
    warned_full: AtomicBool,
}

/// A backend the writer thread feeds, with the name its warnings use.
pub(crate) struct Named {
    pub name: &'static str,
    pub backend: Box<dyn Backend>,
    /// Whether the last call failed: a failing backend is reported once, not per batch.
    pub failing: bool,
}

impl Named {
    pub fn new(name: &'static str, backend: Box<dyn Backend>) -> Named {
        Named {
            name,
            backend,
            failing: false,
        }
    }

    fn report(&mut self, action: &str, result: Result<(), crate::backend::BackendError>) {
        match result {
            Err(e) if !self.failing => {
                self.failing = true;
                tracing::error!(
                    backend = self.name,
                    "labbook backend `{}` failed to {action}: {e}",
                    self.name
                );
            }
            Err(_) => {}
            Ok(()) if self.failing => {
                self.failing = false;
                tracing::info!(
                    backend = self.name,
                    "labbook backend `{}` works again",
                    self.name
                );
            }
            Ok(()) => {}
        }
    }
}

/// The producer side, owned by the run.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub fn spawn(backends: Vec<Named>, _problems: crate::problems::ProblemLog) -> Writer {
        let (tx, rx) = mpsc::sync_channel::<Arc<Shared>>(1);
        let thread = thread::Builder::new()
            .name("labbook-writer".into())
            .spawn(move || {
                if let Ok(shared) = rx.recv() {
                    drain(&shared, backends);
                }
            })
            .expect("labbook could not start its writer thread");
        let shared = Arc::new(Shared {
            queue: ArrayQueue::new(CAPACITY),
            writer: thread.thread().clone(),
            blocked_nanos: AtomicU64::new(0),
            warned_full: AtomicBool::new(false),
        });
        tx.send(Arc::clone(&shared))
            .expect("the writer thread is waiting for its queue");
        Writer {
            shared,
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Hands a record to the writer thread. Waits only when the queue is full.
    #[inline]
    pub fn push(&self, record: Record) {
        if let Err(message) = self.shared.queue.push(Message::Record(record)) {
            self.push_slow(message);
        }
    }

    #[cold]
    fn push_slow(&self, mut message: Message) {
        let start = Instant::now();
        if !self.shared.warned_full.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "labbook's queue is full: training waits for the backends to catch up (the time is reported in info.json)"
            );
        }
        loop {
            self.shared.writer.unpark();
            match self.shared.queue.push(message) {
                Ok(()) => break,
                Err(back) => {
                    message = back;
                    thread::sleep(Duration::from_micros(50));
                }
            }
        }
        let waited = start.elapsed().as_nanos() as u64;
        self.shared
            .blocked_nanos
            .fetch_add(waited, Ordering::Relaxed);
    }

    fn push_control(&self, mut message: Message) {
        loop {
            self.shared.writer.unpark();
            match self.shared.queue.push(message) {
                Ok(()) => return,
                Err(back) => {
                    message = back;
                    thread::sleep(Duration::from_micros(200));
                }
            }
        }
    }

    /// Returns once every record pushed before the call has reached every backend and
    /// been flushed.
    pub fn flush(&self) {
        let (done, wait) = mpsc::sync_channel(1);
        self.push_control(Message::Flush(done));
        let _ = wait.recv();
    }

    /// Writes what is queued, finishes every backend, and stops the thread.
    pub fn finish(&self, end: RunEnd) {
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            self.push_control(Message::Finish(end));
            if thread.join().is_err() {
                tracing::error!("labbook's writer thread panicked; some records may be missing");
            }
        }
    }

    /// How long log calls have waited on a full queue.
    pub fn blocked(&self) -> Duration {
        Duration::from_nanos(self.shared.blocked_nanos.load(Ordering::Relaxed))
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let end = RunEnd {
            status: crate::run::Status::Failed,
            error: Some("the run ended without being finished".into()),
            time: crate::record::now(),
        };
        self.finish(end);
    }
}

/// The writer thread's loop.
fn drain(shared: &Shared, mut backends: Vec<Named>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut last_flush = Instant::now();
    loop {
        let mut finished = None;
        while let Some(message) = shared.queue.pop() {
            match message {
                Message::Record(record) => {
                    batch.push(record);
                    if batch.len() == MAX_BATCH {
                        write(&mut backends, &mut batch);
                    }
                }
                Message::Flush(done) => {
                    write(&mut backends, &mut batch);
                    flush(&mut backends);
                    last_flush = Instant::now();
                    let _ = done.send(());
                }
                Message::Finish(end) => {
                    finished = Some(end);
                    break;
                }
            }
        }
        write(&mut backends, &mut batch);
        if let Some(end) = finished {
            for named in &mut backends {
                named.failing = false;
                let result = named.backend.finish(&end);
                named.report("finish", result);
            }
            return;
        }
        if last_flush.elapsed() >= FLUSH_EVERY {
            flush(&mut backends);
            last_flush = Instant::now();
        }
        if shared.queue.is_empty() {
            thread::park_timeout(IDLE_WAIT);
        }
    }
}

fn write(backends: &mut [Named], batch: &mut Vec<Record>) {
    if batch.is_empty() {
        return;
    }
    for named in backends.iter_mut() {
        let result = named.backend.write(batch);
        named.report("write", result);
    }
    batch.clear();
}

fn flush(backends: &mut [Named]) {
    for named in backends.iter_mut() {
        let result = named.backend.flush();
        named.report("flush", result);
    }
}
