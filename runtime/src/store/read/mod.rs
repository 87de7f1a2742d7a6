//! Reading runs back: the run store, its runs, their metadata and streams.
//!
//! This is the one reader of run directories, and a stable API: `labbook`'s own command
//! (`labbook ls`, `show`, `compare`, …) and its provenance backend read runs through it, and a
//! notebook, a script or a dashboard can do the same.
//!
//! - [`Store`] is the directory of all runs (`LABBOOK_DIR`, or `./runs`): [`Store::runs`],
//!   [`Store::experiment`], [`Store::run`] and [`Store::resolve`] find [`RunDir`]s.
//! - A [`RunDir`] reads what one run recorded: its [`Info`](crate::Info), [`State`], config, params,
//!   problems, and its streams ([`RunDir::metrics`], [`RunDir::texts`],
//!   [`RunDir::histograms`]) as [`StreamFile`]s, and the last point of every metric
//!   ([`RunDir::last_points`], from the summary a run writes at its end when it has one);
//!   [`RunDir::overview`] reads info, config and last points together, for a listing.
//! - [`flatten`] turns a config or params object into dotted keys (`opt.lr`).
//!
//! Nothing here writes, and nothing follows a symbolic link inside a run directory: a link
//! there is no file labbook wrote, and it may point anywhere on the machine.
//!
//! ```
//! use labbook::prelude::*;
//! use labbook::store::read::{State, Store};
//!
//! #[derive(Serialize)]
//! struct Hp { lr: f64 }
//!
//! #[experiment(name = "sweep")]
//! fn train(#[config] hp: &Hp) {
//!     for step in 0..100 {
//!         #[log(metric, every = 10)]
//!         let loss = hp.lr / (step as f64 + 1.0);
//!     }
//! }
//!
//! # let dir = tempfile::tempdir().unwrap();
//! # std::env::set_var("LABBOOK_DIR", dir.path());
//! # std::env::set_var("LABBOOK_CONSOLE", "off");
//! train(&Hp { lr: 0.1 });
//! train(&Hp { lr: 0.01 });
//!
//! let store = Store::from_env()?;
//! let runs = store.experiment("sweep")?;
//! assert_eq!(runs.len(), 2);
//! for run in &runs {
//!     assert_eq!(run.state()?, State::Complete);
//!     let lr = &labbook::store::read::flatten(&run.config()?.unwrap())["lr"];
//!     let last = run.last_point("loss")?.unwrap();
//!     println!("{}: lr {lr}, loss {} at step {}", run.label(), last.value, last.step);
//!     assert_eq!(last.step, 90);
//! }
//! # Ok::<(), labbook::Error>(())
//! ```

mod folder;
mod last;
mod overview;
mod run;
mod streams;
#[cfg(test)]
mod tests;
mod walk;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

pub use self::last::LastPoints;
pub use self::overview::Overview;
pub use self::run::{RunDir, State};
pub use self::streams::{RunFile, StreamFile, StreamKind};
use self::walk::collect;
use crate::error::{Error, Result};
pub use crate::store::jsonl::{Point, Stream};
use crate::store::layout;

/// The directory of all runs: `<experiment>/<id>/` run directories, where an experiment name
/// may hold `/` (`mnist/ablation/3`).
///
/// Runs come back as [`RunDir`]s, sorted by experiment and then by id. Listing a store never
/// fails on one unreadable run: a run directory is recognised by its numeric name and its
/// `metadata/` folder, and reading it is left to [`RunDir`]'s methods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Store {
    root: PathBuf,
}

/// Experiment names may hold `/`: that deep the store is searched for runs.
const MAX_DEPTH: usize = 8;

impl Store {
    /// The store at `path`; [`Error::NotAStore`] if it is not a directory.
    ///
    /// ```
    /// use labbook::store::read::Store;
    ///
    /// let error = Store::open("/no/such/runs").unwrap_err();
    /// assert!(error.to_string().starts_with("there is no run store at /no/such/runs"));
    /// ```
    pub fn open(path: impl Into<PathBuf>) -> Result<Store> {
        let store = Store::at(path);
        store.check()?;
        Ok(store)
    }

    /// The store runs are written to: `LABBOOK_DIR`, or `./runs` when it is unset;
    /// [`Error::NotAStore`] if that is not a directory.
    pub fn from_env() -> Result<Store> {
        Store::open(layout::root())
    }

    /// The store at `path`, whether or not it exists yet: listing it fails with
    /// [`Error::NotAStore`] until it does, and [`Store::resolve`] still finds a run by its path.
    pub fn at(path: impl Into<PathBuf>) -> Store {
        Store { root: path.into() }
    }

    /// The directory of the store.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Every run in the store, by experiment and then by id.
    pub fn runs(&self) -> Result<Vec<RunDir>> {
        self.check()?;
        Ok(self.collected(&self.root, "", 0))
    }

    /// The runs in `state`, by experiment and then by id: `store.runs_in(State::Failed)`.
    /// A run whose info cannot be read is left out.
    ///
    /// Any other filter is a plain `filter` over [`Store::runs`]:
    ///
    /// ```no_run
    /// # use labbook::store::read::{State, Store};
    /// let store = Store::from_env()?;
    /// let over_an_hour = store
    ///     .runs()?
    ///     .into_iter()
    ///     .filter(|run| run.info().is_ok_and(|info| info.duration_s > Some(3600.0)));
    /// # Ok::<(), labbook::Error>(())
    /// ```
    pub fn runs_in(&self, state: State) -> Result<Vec<RunDir>> {
        Ok(self
            .runs()?
            .into_iter()
            .filter(|run| run.state().is_ok_and(|s| s == state))
            .collect())
    }

    /// The runs of experiment `name`, and of the experiments nested under it (`name/…`), by
    /// experiment and then by id; [`Error::UnknownRun`] if the store has no such experiment.
    pub fn experiment(&self, name: &str) -> Result<Vec<RunDir>> {
        self.check()?;
        let name = name.trim_end_matches('/');
        let dir = self.root.join(name);
        if !is_safe(name) || !dir.is_dir() {
            return Err(self.unknown(name));
        }
        Ok(self.collected(&dir, name, 0))
    }

    /// The names of the experiments that have runs, sorted.
    pub fn experiments(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = Vec::new();
        for run in self.runs()? {
            let experiment = run.label().rsplit_once('/').map_or("", |(e, _)| e);
            if names.last().map(String::as_str) != Some(experiment) {
                names.push(experiment.to_owned());
            }
        }
        Ok(names)
    }

    /// Run `id` of `experiment`; [`Error::NoSuchRun`] if the experiment has no such run,
    /// [`Error::UnknownRun`] if there is no such experiment.
    pub fn run(&self, experiment: &str, id: u64) -> Result<RunDir> {
        self.check()?;
        let experiment = experiment.trim_end_matches('/');
        let dir = self.root.join(experiment).join(id.to_string());
        if is_safe(experiment) && is_run(&dir) {
            return Ok(RunDir::new(dir, format!("{experiment}/{id}")));
        }
        if is_safe(experiment) && self.root.join(experiment).is_dir() {
            return Err(self.no_such_run(experiment, id));
        }
        Err(self.unknown(experiment))
    }

    /// The run a `RUN` argument of the `labbook` command names:
    ///
    /// - `experiment/id`: that run;
    /// - `experiment`: its latest run (the highest id);
    /// - the path of a run directory, in the store or anywhere else (labelled
    ///   `experiment/id` when it is in the store, by its path otherwise).
    ///
    /// A name never leaves the store (`../x` is no experiment). The error says what the store
    /// holds instead: [`Error::NoSuchRun`], [`Error::UnknownRun`], or [`Error::NotAStore`].
    ///
    /// ```
    /// use labbook::prelude::*;
    /// use labbook::store::read::Store;
    ///
    /// #[experiment(name = "probe")]
    /// fn probe() {}
    ///
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::env::set_var("LABBOOK_DIR", dir.path());
    /// # std::env::set_var("LABBOOK_CONSOLE", "off");
    /// probe();
    /// probe();
    /// let store = Store::from_env()?;
    /// let latest = store.resolve("probe")?;
    /// assert_eq!(latest, store.resolve("probe/2")?);
    /// assert_eq!(latest, store.resolve(latest.path().to_str().unwrap())?);
    /// assert_eq!(latest.label(), "probe/2");
    /// assert_eq!(
    ///     store.resolve("probe/7").unwrap_err().to_string(),
    ///     format!("experiment `probe` has no run 7 in {}", store.path().display())
    /// );
    /// # Ok::<(), labbook::Error>(())
    /// ```
    pub fn resolve(&self, arg: &str) -> Result<RunDir> {
        let as_path = Path::new(arg);
        if is_run(as_path) {
            return Ok(self.named_by_path(as_path));
        }
        let name = arg.trim_end_matches('/');
        if is_safe(arg) {
            let dir = self.root.join(arg);
            if is_run(&dir) {
                return Ok(RunDir::new(dir, name.to_owned()));
            }
            if dir.is_dir() {
                let mut runs = Vec::new();
                collect(&dir, name, MAX_DEPTH, &mut runs);
                if let Some((_, _, latest)) = runs.into_iter().max_by_key(|r| r.1) {
                    return Ok(latest);
                }
            }
            if let Some((experiment, id)) = arg.rsplit_once('/') {
                if let Ok(id) = id.parse::<u64>() {
                    if self.root.join(experiment).is_dir() {
                        return Err(self.no_such_run(experiment, id));
                    }
                }
            }
        }
        if !self.root.is_dir() && !arg.contains('/') {
            return Err(self.not_a_store());
        }
        Err(self.unknown(arg))
    }

    fn check(&self) -> Result<()> {
        if self.root.is_dir() {
            Ok(())
        } else {
            Err(self.not_a_store())
        }
    }

    fn not_a_store(&self) -> Error {
        Error::NotAStore {
            path: self.root.clone(),
        }
    }

    fn no_such_run(&self, experiment: &str, id: u64) -> Error {
        Error::NoSuchRun {
            store: self.root.clone(),
            experiment: experiment.to_owned(),
            id,
        }
    }

    fn unknown(&self, name: &str) -> Error {
        Error::UnknownRun {
            store: self.root.clone(),
            name: name.to_owned(),
            experiments: self.experiments().unwrap_or_default(),
        }
    }

    /// The runs under `dir` (experiment `experiment`), sorted.
    fn collected(&self, dir: &Path, experiment: &str, depth: usize) -> Vec<RunDir> {
        let mut runs = Vec::new();
        collect(dir, experiment, depth, &mut runs);
        runs.sort_unstable_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
        runs.into_iter().map(|(_, _, dir)| dir).collect()
    }

    /// A run named by its path: labelled `experiment/id` from where it is in the store, or
    /// else by the path itself.
    fn named_by_path(&self, path: &Path) -> RunDir {
        let label = fs::canonicalize(path)
            .ok()
            .zip(fs::canonicalize(&self.root).ok())
            .and_then(|(run, root)| {
                let relative = run.strip_prefix(root).ok()?.to_str()?.to_owned();
                Some(relative.replace(std::path::MAIN_SEPARATOR, "/"))
            })
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| path.display().to_string());
        RunDir::new(path.to_owned(), label)
    }
}

/// A directory with `metadata/info.json`.
fn is_run(dir: &Path) -> bool {
    layout::info_file(dir).is_file()
}

/// A store-relative name that cannot leave the store.
fn is_safe(name: &str) -> bool {
    let path = Path::new(name);
    !name.is_empty()
        && path.is_relative()
        && path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// A config or params object flattened to dotted keys, as `labbook ls` and `show` list them:
/// `{"opt": {"lr": 0.1}}` is `opt.lr = 0.1`.
///
/// An empty object is kept as one value; `null` is nothing; any other value that is not an
/// object (a `#[config]` argument that is a plain number, say) is one entry named `config`.
///
/// ```
/// use labbook::store::read::flatten;
/// use serde_json::json;
///
/// let flat = flatten(&json!({"opt": {"lr": 0.1, "betas": [0.9, 0.99]}, "seed": 7, "tags": {}}));
/// assert_eq!(flat["opt.lr"], json!(0.1));
/// assert_eq!(flat["opt.betas"], json!([0.9, 0.99]));
/// assert_eq!(flat["tags"], json!({}));
/// assert_eq!(flatten(&json!(0.5))["config"], json!(0.5));
/// assert!(flatten(&json!(null)).is_empty());
/// ```
pub fn flatten(value: &Value) -> BTreeMap<String, Value> {
    fn go(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, value) in map {
                    let key = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    go(&key, value, out);
                }
            }
            _ => {
                out.insert(prefix.to_owned(), value.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    match value {
        Value::Object(_) => go("", value, &mut out),
        Value::Null => {}
        other => {
            out.insert("config".into(), other.clone());
        }
    }
    out
}
