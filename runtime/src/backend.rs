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

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

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

/// Creates a backend for a run; `Ok(None)` when it has nothing to do for this run (a
/// feature that needs settings the environment does not give).
pub type Create = fn(&RunContext) -> Result<Option<Box<dyn Backend>>, BackendError>;

/// One registered backend, collected at link time.
#[derive(Debug)]
pub struct Registration {
    /// The backend's name, as `LABBOOK_BACKENDS` and `info.json` name it.
    pub name: &'static str,
    /// Makes the backend for a run.
    pub create: Create,
    /// Where it was registered, to name both sides of a duplicate.
    pub module: &'static str,
}

impl Registration {
    /// The backend `name`, made by `create`.
    pub const fn new(name: &'static str, create: Create) -> Self {
        Registration {
            name,
            create,
            module: "",
        }
    }

    /// Records the registering module; `register_backend!` fills it in.
    pub const fn in_module(mut self, module: &'static str) -> Self {
        self.module = module;
        self
    }
}

inventory::collect!(Registration);

/// Registers a backend from the current module.
#[macro_export]
macro_rules! register_backend {
    ($name:expr, $create:expr) => {
        $crate::inventory::submit!(
            $crate::backend::Registration::new($name, $create).in_module(module_path!())
        );
    };
}

/// Every registered backend by name. Built once; a name registered twice is reported,
/// naming both registrations, and neither is used.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::build(inventory::iter::<Registration>))
}

/// The backends linked into this program.
#[derive(Debug)]
pub struct Registry {
    /// Every backend by name, duplicates left out.
    pub backends: BTreeMap<&'static str, &'static Registration>,
    /// One sentence per name registered more than once.
    pub conflicts: Vec<String>,
}

impl Registry {
    fn build(all: impl IntoIterator<Item = &'static Registration>) -> Registry {
        let mut backends: BTreeMap<&'static str, &'static Registration> = BTreeMap::new();
        let mut conflicts = Vec::new();
        let mut dropped = Vec::new();
        for registration in all {
            if let Some(first) = backends.get(registration.name) {
                conflicts.push(format!(
                    "two backends are registered as `{}` (in `{}` and in `{}`); neither is used until one is renamed",
                    registration.name, first.module, registration.module
                ));
                dropped.push(registration.name);
            } else {
                backends.insert(registration.name, registration);
            }
        }
        for name in dropped {
            backends.remove(name);
        }
        Registry {
            backends,
            conflicts,
        }
    }

    /// The names of the backends, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.backends.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &RunContext) -> Result<Option<Box<dyn Backend>>, BackendError> {
        Ok(None)
    }

    #[test]
    fn a_duplicate_name_names_both_registrations() {
        static A: Registration = Registration::new("dup", none).in_module("crate_a");
        static B: Registration = Registration::new("dup", none).in_module("crate_b");
        static C: Registration = Registration::new("other", none).in_module("crate_c");
        let registry = Registry::build([&A, &B, &C]);
        assert_eq!(registry.names().collect::<Vec<_>>(), ["other"]);
        assert_eq!(registry.conflicts.len(), 1);
        assert!(
            registry.conflicts[0].contains("crate_a") && registry.conflicts[0].contains("crate_b")
        );
    }

    #[test]
    fn built_in_backends_are_registered() {
        let names: Vec<_> = registry().names().collect();
        assert!(
            names.contains(&"local") && names.contains(&"console"),
            "{names:?}"
        );
    }
}
