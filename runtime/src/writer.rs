//! The hand-off between the training thread and the backends: a bounded lock-free queue and
//! one writer thread per run that drains it in batches.
//!
//! Pushing a record is a queue push: no lock, no allocation, no syscall. The writer thread
//! sleeps while the queue is empty and wakes on a short timer, so a push never has to wake
//! it. When the queue is full the training thread waits (no record is dropped while the
//! writer lives) and the time it waited is counted and reported in the run's `info.json`.
//!
//! The writer thread stores each batch in the local run directory first, then hands it to
//! the other backends, each on its own thread ([`crate::fanout`]). Nothing on the training
//! thread waits for a writer that is gone: if it ever dies, records are counted as lost in
//! the run's problems instead.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;

use crate::backend::{RunEnd, LOCAL};
use crate::fanout::{self, Fanout, Finishing, Named};
use crate::problems::ProblemLog;
use crate::record::Record;

/// Records the queue holds before the training thread has to wait.
const CAPACITY: usize = 1 << 16;
/// The largest batch handed to the backends at once.
const MAX_BATCH: usize = 8192;
/// How long the writer sleeps when the queue is empty.
const IDLE_WAIT: Duration = Duration::from_millis(20);
/// How often backends are flushed while the run goes on.
const FLUSH_EVERY: Duration = Duration::from_secs(2);
/// How long [`Writer::flush`] waits for the backends other than the local store.
const FLUSH_WAIT: Duration = Duration::from_secs(10);

enum Message {
    Record(Record),
    /// Write what is queued; flush the local store, and the other backends when `remote`.
    Flush {
        done: mpsc::SyncSender<()>,
        remote: bool,
    },
    /// Finish the local store, signal `local_done`, then tell the other backends.
    Finish {
        end: RunEnd,
        local_done: mpsc::SyncSender<()>,
    },
    /// Stops the writer thread as a bug in it would (fault injection).
    Crash,
}

struct Shared {
    queue: ArrayQueue<Message>,
    writer: Thread,
    /// Cleared when the writer thread exits, however it exits.
    alive: AtomicBool,
    blocked_nanos: AtomicU64,
    warned_full: AtomicBool,
    problems: ProblemLog,
}

/// Clears [`Shared::alive`] when the writer thread ends, even by a panic.
struct Alive<'a>(&'a Shared);

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        self.0.alive.store(false, Ordering::Release);
        if thread::panicking() {
            self.0.problems.backend(
                LOCAL,
                0,
                "the writer thread panicked; records logged after that were not stored",
            );
        }
    }
}

/// The producer side, owned by the run.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<Option<Finishing>>>>,
}

impl Writer {
    /// Starts the writer thread; the backend named [`LOCAL`] is written first. Its events
    /// (and the backends') go to the log of the run in `dir`.
    pub fn spawn(backends: Vec<Named>, problems: ProblemLog, dir: &Path) -> Writer {
        let (tx, rx) = mpsc::sync_channel::<Arc<Shared>>(1);
        let (local, others): (Vec<Named>, Vec<Named>) =
            backends.into_iter().partition(|b| b.name == LOCAL);
        let fan_problems = problems.clone();
        let dir = dir.to_owned();
        let thread = thread::Builder::new()
            .name("labbook-writer".into())
            .spawn(move || {
                let shared = rx.recv().ok()?;
                let _alive = Alive(&shared);
                crate::diagnostics::enter_run_log(&dir);
                let fanout = Fanout::start(others, &fan_problems, &dir);
                drain(&shared, local.into_iter().next(), fanout)
            })
            .expect("labbook could not start its writer thread");
        let shared = Arc::new(Shared {
            queue: ArrayQueue::new(CAPACITY),
            writer: thread.thread().clone(),
            alive: AtomicBool::new(true),
            blocked_nanos: AtomicU64::new(0),
            warned_full: AtomicBool::new(false),
            problems,
        });
        tx.send(Arc::clone(&shared))
            .expect("the writer thread is waiting for its queue");
        Writer {
            shared,
            thread: Mutex::new(Some(thread)),
        }
    }

    fn alive(&self) -> bool {
        self.shared.alive.load(Ordering::Acquire)
    }

    /// Hands a record to the writer thread. Waits only when the queue is full.
    #[inline]
    pub fn push(&self, record: Record) {
        if let Err(message) = self.shared.queue.push(Message::Record(record)) {
            self.push_slow(message);
        }
    }

    /// Hands a record to the writer thread unless the queue is full or the writer is gone;
    /// gives it back then. Never waits: for records that may be dropped (system samples).
    pub fn try_push(&self, record: Record) -> Result<(), Record> {
        if !self.alive() {
            return Err(record);
        }
        match self.shared.queue.push(Message::Record(record)) {
            Ok(()) => Ok(()),
            Err(Message::Record(record)) => Err(record),
            Err(_) => unreachable!("a record was pushed"),
        }
    }

    #[cold]
    fn push_slow(&self, message: Message) {
        let start = Instant::now();
        if !self.shared.warned_full.swap(true, Ordering::Relaxed) && self.alive() {
            tracing::warn!(
                "labbook's queue is full: training waits for the backends to catch up (the time is reported in info.json)"
            );
        }
        if let Err(Message::Record(record)) = self.push_control(message, 50) {
            self.shared.problems.stream(
                &record.name,
                1,
                "logged after the run's writer had stopped; not stored",
            );
        }
        let waited = start.elapsed().as_nanos() as u64;
        self.shared
            .blocked_nanos
            .fetch_add(waited, Ordering::Relaxed);
    }

    /// Queues `message`, waiting while the queue is full; gives it back when the writer
    /// thread is gone.
    fn push_control(&self, mut message: Message, pause_us: u64) -> Result<(), Message> {
        loop {
            if !self.alive() {
                return Err(message);
            }
            self.shared.writer.unpark();
            match self.shared.queue.push(message) {
                Ok(()) => return Ok(()),
                Err(back) => {
                    message = back;
                    thread::sleep(Duration::from_micros(pause_us));
                }
            }
        }
    }

    /// Waits for a reply from the writer thread, or until it is gone.
    fn wait(&self, reply: &mpsc::Receiver<()>) {
        while self.alive() {
            if reply.recv_timeout(Duration::from_millis(50)).is_ok() {
                return;
            }
        }
    }

    /// Returns once every record pushed before the call is in the run directory and, with
    /// `remote`, has been handed to and flushed by every other backend (at most
    /// [`FLUSH_WAIT`] for those).
    pub fn flush(&self, remote: bool) {
        let (done, wait) = mpsc::sync_channel(1);
        if self
            .push_control(Message::Flush { done, remote }, 200)
            .is_ok()
        {
            self.wait(&wait);
        }
    }

    /// Writes what is queued and makes the local store final. The other backends are told
    /// to finish; [`Writer::wait_backends`] waits for them.
    pub fn finish(&self, end: RunEnd) {
        let (local_done, wait) = mpsc::sync_channel(1);
        if self
            .push_control(Message::Finish { end, local_done }, 200)
            .is_ok()
        {
            self.wait(&wait);
        }
        if !self.alive() {
            self.count_stranded();
        }
    }

    /// Counts the records left in the queue of a writer that is gone.
    fn count_stranded(&self) {
        let mut lost: std::collections::BTreeMap<String, u64> = Default::default();
        while let Some(message) = self.shared.queue.pop() {
            if let Message::Record(record) = message {
                *lost.entry(record.name.to_string()).or_default() += 1;
            }
        }
        for (name, n) in lost {
            self.shared.problems.stream(
                &name,
                n,
                "logged after the run's writer had stopped; not stored",
            );
        }
    }

    /// Makes the writer thread panic, as a bug in it would: for fault-injection tests.
    pub fn crash(&self) {
        let _ = self.push_control(Message::Crash, 200);
        while self.alive() {
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Waits for the backends other than the local store to finish, `deadline` in all.
    pub fn wait_backends(&self, deadline: Duration) {
        let until = Instant::now() + deadline;
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(thread) = thread else { return };
        while !thread.is_finished() && Instant::now() < until {
            thread::sleep(Duration::from_millis(5));
        }
        if !thread.is_finished() {
            self.shared.problems.backend(
                "backends",
                0,
                "were still taking the last records when the run ended",
            );
            return;
        }
        match thread.join() {
            Ok(Some(finishing)) => finishing.wait(until.saturating_duration_since(Instant::now())),
            Ok(None) => {}
            Err(payload) => tracing::error!(
                "labbook's writer thread panicked ({}); the run's problems list what was not stored",
                fanout::panic_text(&*payload)
            ),
        }
    }

    /// How long log calls have waited on a full queue.
    pub fn blocked(&self) -> Duration {
        Duration::from_nanos(self.shared.blocked_nanos.load(Ordering::Relaxed))
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self
            .thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            let end = RunEnd {
                status: crate::store::meta::Status::Failed,
                error: Some("the run ended without being finished".into()),
                time: crate::record::now(),
            };
            self.finish(end);
            self.wait_backends(Duration::from_secs(10));
        }
    }
}

/// The writer thread's loop; returns the other backends, finishing.
fn drain(shared: &Shared, mut local: Option<Named>, mut fanout: Fanout) -> Option<Finishing> {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut last_flush = Instant::now();
    loop {
        while let Some(message) = shared.queue.pop() {
            match message {
                Message::Record(record) => {
                    batch.push(record);
                    if batch.len() == MAX_BATCH {
                        write(shared, &mut local, &mut fanout, &mut batch);
                    }
                }
                Message::Flush { done, remote } => {
                    write(shared, &mut local, &mut fanout, &mut batch);
                    call_local(shared, &mut local, "flush", |b| b.flush());
                    if remote {
                        fanout.flush(FLUSH_WAIT);
                    }
                    last_flush = Instant::now();
                    let _ = done.send(());
                }
                Message::Finish { end, local_done } => {
                    write(shared, &mut local, &mut fanout, &mut batch);
                    call_local(shared, &mut local, "finish", |b| b.finish(&end));
                    let _ = local_done.send(());
                    return Some(fanout.finish(&end));
                }
                Message::Crash => panic!("the writer thread was stopped by fault injection"),
            }
        }
        write(shared, &mut local, &mut fanout, &mut batch);
        if last_flush.elapsed() >= FLUSH_EVERY {
            call_local(shared, &mut local, "flush", |b| b.flush());
            fanout.flush(Duration::ZERO);
            last_flush = Instant::now();
        }
        if shared.queue.is_empty() {
            thread::park_timeout(IDLE_WAIT);
        }
    }
}

fn write(shared: &Shared, local: &mut Option<Named>, fanout: &mut Fanout, batch: &mut Vec<Record>) {
    if batch.is_empty() {
        return;
    }
    call_local(shared, local, "write", |b| b.write(batch));
    if fanout.is_empty() {
        // Nothing else takes the batch: its buffer serves the next one.
        batch.clear();
    } else {
        let records = std::mem::replace(batch, Vec::with_capacity(MAX_BATCH));
        fanout.write(&Arc::new(records));
    }
}

/// Calls the local store. It counts its own losses per stream; an error it returns is one
/// it could not place, and a panic switches it off (recorded) so the other backends go on.
fn call_local(
    shared: &Shared,
    local: &mut Option<Named>,
    action: &str,
    f: impl FnOnce(&mut dyn crate::backend::Backend) -> Result<(), crate::backend::BackendError>,
) {
    let Some(named) = local else { return };
    match fanout::call(|| f(&mut *named.backend)) {
        Ok(()) => {}
        Err((e, panicked)) => {
            tracing::error!("labbook could not {action} the run directory: {e}");
            shared
                .problems
                .backend(LOCAL, 0, format_args!("{action}: {e}"));
            if panicked {
                shared
                    .problems
                    .disable_backend(LOCAL, format_args!("{action}: {e}"));
                *local = None;
            }
        }
    }
}
