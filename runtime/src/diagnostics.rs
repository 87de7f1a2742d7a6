//! labbook's own diagnostics and the application's `tracing` events: to stderr (filtered by
//! `RUST_LOG`, default `info`) and, while a run is active, also to its
//! `logs/labbook.log` (`labbook.rank<r>.log` for other ranks), rotated at 10 MB with the
//! last 5 files kept.
//!
//! Each event goes to the log of one run: the innermost run active on the thread that
//! emitted it (a run is active on the thread that started it, and on a thread that entered
//! it with [`Run::enter`](crate::Run::enter)); on a thread with none, the run active in the
//! process when there is exactly one. With several runs at once, events of threads that
//! belong to none of them go to stderr only, never into the wrong run's log.
//!
//! The subscriber is installed at a run start that finds none in the process, unless
//! [`Settings`](crate::Settings) or `LABBOOK_TRACING` turn it off; a program with its own
//! subscriber adds [`run_log_layer`] to it to keep the run log files.

use std::cell::RefCell;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

const ROTATE_BYTES: usize = 10 * 1024 * 1024;
const ROTATED_FILES: usize = 5;

/// The log file of one run, until the run ends.
struct RunLog {
    dir: PathBuf,
    file: Mutex<Option<FileRotate<AppendCount>>>,
}

impl RunLog {
    fn is_open(&self) -> bool {
        self.file
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }
}

/// The open run logs of the process, oldest first.
static OPEN: Mutex<Vec<Arc<RunLog>>> = Mutex::new(Vec::new());

thread_local! {
    /// The logs of the runs active on this thread, innermost last.
    static THREAD: RefCell<Vec<Arc<RunLog>>> = const { RefCell::new(Vec::new()) };
}

/// Installs labbook's global subscriber, unless the settings turn it off or the process
/// has one already. Called at every run start.
pub(crate) fn init_tracing() {
    if !crate::settings::tracing() || tracing::dispatcher::has_been_set() {
        return;
    }
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let console = tracing_subscriber::fmt::layer()
        .with_writer(io::stderr)
        .with_target(false)
        .with_filter(filter());
    let file = run_log_layer().with_filter(filter());
    // An error means another thread set a subscriber since the check (theirs stays), or
    // the program has a `log` logger (it keeps it).
    let _ = tracing_subscriber::registry()
        .with(console)
        .with(file)
        .try_init();
}

/// A `tracing` layer that writes each event into the log file of its run
/// (`logs/labbook.log` in the run directory), and nowhere when it belongs to no run: for a program
/// that installs its own subscriber and keeps the run logs. It filters nothing itself;
/// labbook's own subscriber puts a `RUST_LOG` filter (default `info`) on it.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_subscriber::fmt::layer())
///     .with(labbook::run_log_layer());
/// tracing::subscriber::set_global_default(subscriber).unwrap();
/// ```
pub fn run_log_layer<S>() -> impl Layer<S> + Send + Sync + 'static
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .with_writer(RunLogs)
        .with_ansi(false)
}

/// Opens the log file of the run in `dir`; events of the calling thread go there until
/// [`close_run_log`] or a nested run.
pub(crate) fn open_run_log(dir: &Path, rank: u32) {
    close_run_log(dir);
    let name = if rank == 0 {
        "labbook.log".to_owned()
    } else {
        format!("labbook.rank{rank}.log")
    };
    let path = dir.join(crate::store::layout::LOGS).join(name);
    let file = FileRotate::new(
        path,
        AppendCount::new(ROTATED_FILES),
        ContentLimit::BytesSurpassed(ROTATE_BYTES),
        Compression::None,
        None,
    );
    let log = Arc::new(RunLog {
        dir: dir.to_owned(),
        file: Mutex::new(Some(file)),
    });
    OPEN.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Arc::clone(&log));
    let _ = THREAD.try_with(|logs| {
        let mut logs = logs.borrow_mut();
        logs.retain(|l| l.is_open());
        logs.push(log);
    });
}

/// Closes the log file of the run in `dir`.
pub(crate) fn close_run_log(dir: &Path) {
    let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
    let (closed, still): (Vec<_>, Vec<_>) = open.drain(..).partition(|l| l.dir == dir);
    *open = still;
    drop(open);
    for log in closed {
        if let Some(mut file) = log.file.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = file.flush();
        }
    }
    let _ = THREAD.try_with(|logs| logs.borrow_mut().retain(|l| l.is_open()));
}

/// Sends the calling thread's events to the log of the run in `dir`, if it is open, until
/// [`leave_run_log`]; `false` when it is not open.
pub(crate) fn enter_run_log(dir: &Path) -> bool {
    let log = OPEN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|l| l.dir == dir)
        .cloned();
    let Some(log) = log else {
        return false;
    };
    THREAD.try_with(|logs| logs.borrow_mut().push(log)).is_ok()
}

/// Undoes the last [`enter_run_log`] of `dir` on the calling thread.
pub(crate) fn leave_run_log(dir: &Path) {
    let _ = THREAD.try_with(|logs| {
        let mut logs = logs.borrow_mut();
        if let Some(last) = logs.iter().rposition(|l| l.dir == dir) {
            logs.remove(last);
        }
    });
}

/// The log an event of the calling thread goes to, if any.
fn target() -> Option<Arc<RunLog>> {
    let own = THREAD
        .try_with(|logs| {
            let logs = logs.try_borrow().ok()?;
            logs.iter().rev().find(|l| l.is_open()).cloned()
        })
        .ok()
        .flatten();
    own.or_else(|| {
        let open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
        match open.as_slice() {
            [only] => Some(Arc::clone(only)),
            _ => None,
        }
    })
}

/// Writes an event into the log its thread belongs to (chosen when the event is
/// formatted), or nowhere.
struct RunLogs;

impl<'a> MakeWriter<'a> for RunLogs {
    type Writer = EventWriter;
    fn make_writer(&'a self) -> EventWriter {
        EventWriter(target())
    }
}

struct EventWriter(Option<Arc<RunLog>>);

impl Write for EventWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(log) = &self.0 else {
            return Ok(buf.len());
        };
        match log.file.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some(file) => file.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let Some(log) = &self.0 else {
            return Ok(());
        };
        match log.file.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}
