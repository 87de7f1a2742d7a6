//! The errors labbook reports to its users.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong when logging by hand or reading a run store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A name that a backend would reject.
    #[error("cannot log under {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    /// `labbook::run()` was used while no `#[experiment]` function is running.
    #[error(
        "no run is active: call this from inside an `#[experiment]` function (or code it calls)"
    )]
    NoActiveRun,
    /// The run has ended; nothing more can be logged to it.
    #[error("run {0} has already ended")]
    RunEnded(String),
    /// A value that cannot be recorded.
    #[error("cannot record {name:?}: {reason}")]
    InvalidValue { name: String, reason: String },
    /// Reading or writing the run store failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A file in the run store does not hold what labbook wrote there.
    #[error("{}:{line}: {reason}", path.display())]
    Corrupt {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
