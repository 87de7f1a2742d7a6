//! Where records go. Every backend registers itself at link time with
//! [`register_backend!`](crate::register_backend) (an `inventory` submission), so a crate can
//! add one without touching labbook:
//!
//! ```
//! use labbook::backend::{Backend, BackendError, RunContext};
//! use labbook::Record;
//!
//! struct Count(usize);
//!
//! impl Backend for Count {
//!     fn write(&mut self, batch: &[Record]) -> Result<(), BackendError> {
//!         self.0 += batch.len();
//!         Ok(())
//!     }
//! }
//!
//! fn count(_: &RunContext) -> Result<Option<Box<dyn Backend>>, BackendError> {
//!     Ok(Some(Box::new(Count(0))))
//! }
//!
//! labbook::register_backend!("count", count);
//! ```
//!
//! `inventory` only sees crates that are linked: a binary that relies on a backend from a
//! crate it never names must still reference it, e.g. `use my_backend as _;`.

use std::path::PathBuf;

mod registry;

use crate::record::Record;
use crate::store::meta::{Info, Status};

/// What a backend learns about the run it serves.
#[derive(Debug)]
pub struct RunContext {
    /// The experiment's name.
    pub experiment: String,
    /// The run's number within its experiment, from 1.
    pub id: u64,
    /// The run directory (`runs/<experiment>/<id>`), shared by every rank of the job.
    pub dir: PathBuf,
    /// This process's rank in the job (0 alone).
    pub rank: u32,
    /// How many ranks the job has (1 alone).
    pub world_size: u32,
    /// The `#[config]` argument, serialised.
    pub config: Option<serde_json::Value>,
    /// The run's `metadata/info.json` as it was at the start.
    pub info: Info,
    /// Where the backend counts what it could not store or send (`info.json`'s `problems`).
    pub problems: crate::problems::ProblemLog,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunEnd {
    /// `Complete` or `Failed`.
    pub status: Status,
    /// Why a failed run failed, in one sentence.
    pub error: Option<String>,
    /// Seconds since the Unix epoch.
    pub time: f64,
}

/// A problem a backend reports; the writer logs it and carries on with the other backends.
///
/// It carries the error it came from, if any, as its [`source`](std::error::Error::source):
///
/// ```
/// use labbook::backend::BackendError;
/// use std::error::Error as _;
///
/// let refused = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "read-only");
/// let error = BackendError::with_source("cannot open the event file", refused);
/// assert_eq!(error.to_string(), "cannot open the event file");
/// assert_eq!(error.source().unwrap().to_string(), "read-only");
///
/// // Converted with `?`, an error is shown as itself.
/// let error = BackendError::from(std::io::Error::other("disk full"));
/// assert_eq!(error.to_string(), "disk full");
/// ```
#[derive(Debug)]
pub struct BackendError {
    /// `None`: the error is shown as its source.
    message: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl BackendError {
    /// An error that is this message alone.
    pub fn new(message: impl std::fmt::Display) -> Self {
        BackendError {
            message: Some(message.to_string()),
            source: None,
        }
    }

    /// An error that says `message`, caused by `source`.
    pub fn with_source(
        message: impl std::fmt::Display,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        BackendError {
            message: Some(message.to_string()),
            source: Some(source.into()),
        }
    }

    /// An error shown as `error` itself, whose source is `error`'s source.
    fn transparent(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        BackendError {
            message: None,
            source: Some(Box::new(error)),
        }
    }
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.message, &self.source) {
            (Some(message), _) => f.write_str(message),
            (None, Some(source)) => source.fmt(f),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let source = self.source.as_deref()?;
        if self.message.is_some() {
            Some(source)
        } else {
            source.source()
        }
    }
}

impl From<std::io::Error> for BackendError {
    fn from(e: std::io::Error) -> Self {
        BackendError::transparent(e)
    }
}

impl From<crate::error::Error> for BackendError {
    fn from(e: crate::error::Error) -> Self {
        BackendError::transparent(e)
    }
}

/// Creates a file that must not exist yet (a backend never truncates or appends to a file
/// another writer made), for buffered writing.
pub fn create_new_file(
    path: &std::path::Path,
) -> Result<std::io::BufWriter<std::fs::File>, BackendError> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| BackendError::new(format_args!("cannot create {}: {e}", path.display())))?;
    Ok(std::io::BufWriter::with_capacity(1 << 16, file))
}

/// A destination for records. Every method runs on the run's writer thread, never on the
/// training thread.
pub trait Backend: Send {
    /// Called once, before the first batch.
    fn start(&mut self, _run: &RunContext) -> Result<(), BackendError> {
        Ok(())
    }

    /// Records in the order they were logged.
    fn write(&mut self, batch: &[Record]) -> Result<(), BackendError>;

    /// Makes everything written so far visible to readers.
    fn flush(&mut self) -> Result<(), BackendError> {
        Ok(())
    }

    /// The run is over: write what is left and close.
    fn finish(&mut self, _end: &RunEnd) -> Result<(), BackendError> {
        self.flush()
    }
}

pub use self::registry::{registry, Create, Registration, Registry};
pub(crate) use self::registry::{start, LOCAL};
