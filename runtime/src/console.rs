//! labbook's own diagnostics and the application's `tracing` events: to stderr (filtered by
//! `RUST_LOG`, default `info`) and, while a run is active, also to its
//! `logs/labbook.log` (`labbook.rank<r>.log` for other ranks), rotated at 10 MB with the
//! last 5 files kept.
//!
//! The subscriber is installed at the first run unless the program installed its own.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

const ROTATE_BYTES: usize = 10 * 1024 * 1024;
const ROTATED_FILES: usize = 5;

/// The log file of the run started last, with that run's directory.
static RUN_LOG: Mutex<Option<(PathBuf, FileRotate<AppendCount>)>> = Mutex::new(None);

/// Installs the subscriber, once, unless one is installed already.
pub(crate) fn init_tracing() {
    if tracing::dispatcher::has_been_set() {
        return;
    }
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let console = tracing_subscriber::fmt::layer()
        .with_writer(io::stderr)
        .with_target(false)
        .with_filter(filter());
    let file = tracing_subscriber::fmt::layer()
        .with_writer(RunLog)
        .with_ansi(false)
        .with_filter(filter());
    let _ = tracing_subscriber::registry()
        .with(console)
        .with(file)
        .try_init();
}

/// Sends events to the log file of the run in `dir` until [`close_run_log`].
pub(crate) fn open_run_log(dir: &Path, rank: u32) {
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
    *RUN_LOG.lock().unwrap_or_else(|e| e.into_inner()) = Some((dir.to_owned(), file));
}

/// Stops writing to the log file of the run in `dir`, if it is the one open.
pub(crate) fn close_run_log(dir: &Path) {
    let mut open = RUN_LOG.lock().unwrap_or_else(|e| e.into_inner());
    if open.as_ref().is_some_and(|(owner, _)| owner == dir) {
        if let Some((_, mut file)) = open.take() {
            let _ = file.flush();
        }
    }
}

/// Writes into the active run's log file, or nowhere between runs.
struct RunLog;

impl<'a> MakeWriter<'a> for RunLog {
    type Writer = RunLog;
    fn make_writer(&'a self) -> RunLog {
        RunLog
    }
}

impl Write for RunLog {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match RUN_LOG.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some((_, file)) => file.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match RUN_LOG.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some((_, file)) => file.flush(),
            None => Ok(()),
        }
    }
}
