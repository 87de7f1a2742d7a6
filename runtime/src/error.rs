//! The errors labbook reports to its users.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong when logging by hand or reading a run store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A name that a backend would reject.
    #[error("cannot log under {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Why it is refused.
        reason: String,
    },
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
    InvalidValue {
        /// What it was logged under.
        name: String,
        /// Why it cannot be recorded.
        reason: String,
    },
    /// A tag or group a run cannot take (`run().tag(…)`, `labbook tag`): why, in one
    /// sentence.
    #[error("cannot tag the run: {0}")]
    InvalidTag(String),
    /// Reading or writing the run store failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done: `cannot read`, `cannot create`, ….
        action: &'static str,
        /// The file or folder it was done to.
        path: PathBuf,
        /// The error of the operating system.
        #[source]
        source: io::Error,
    },
    /// A file in the run store does not hold what labbook wrote there.
    #[error("{}:{line}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The line of the file, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// No run store at this path: nothing has been run with `LABBOOK_DIR` pointing there, or
    /// it is not the folder that holds the `<experiment>/<id>/` run directories.
    #[error(
        "there is no run store at {} (set LABBOOK_DIR, or open the folder that holds the \
         `<experiment>/<id>/` run directories)",
        path.display()
    )]
    NotAStore {
        /// Where the store was looked for.
        path: PathBuf,
    },
    /// A directory that should hold a run has no readable `metadata/info.json`.
    #[error("{} is not a labbook run: it has no readable metadata/info.json", path.display())]
    NotARun {
        /// The directory.
        path: PathBuf,
        /// Why `info.json` could not be read.
        #[source]
        source: io::Error,
    },
    /// The store has no run or experiment of that name.
    #[error(
        "there is no run or experiment `{name}` in {} ({})",
        store.display(),
        known(experiments)
    )]
    UnknownRun {
        /// The store's directory.
        store: PathBuf,
        /// The name asked for.
        name: String,
        /// The experiments the store has, sorted.
        experiments: Vec<String>,
    },
    /// The experiment exists, but has no run of that id.
    #[error("experiment `{experiment}` has no run {id} in {}", store.display())]
    NoSuchRun {
        /// The store's directory.
        store: PathBuf,
        /// The experiment.
        experiment: String,
        /// The id asked for.
        id: u64,
    },
}

/// The experiments of a store, for a message.
fn known(experiments: &[String]) -> String {
    if experiments.is_empty() {
        "it has no runs".to_owned()
    } else {
        format!("its experiments are {}", experiments.join(", "))
    }
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
