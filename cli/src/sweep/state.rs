//! A sweep's state on disk, `<store>/.sweeps/<id>/`: `spec.toml` (the spec as it was first
//! run), `state.json` (each trial: point, status, run, metric), `state.lock` (held while
//! `state.json` is read and rewritten, so that processes on a shared file system take turns),
//! and `trial-<n>.log` (a trial's output). The store's reader skips dot-folders, so
//! `.sweeps` is no experiment.
//!
//! The id is the spec file's name and a hash of what makes the sweep (see
//! [`Spec::identity`]): running the same spec again finds the same state and resumes.

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::space::{self, Point};
use super::spec::{Method, Spec};
use crate::store::now;

/// The folder of all sweeps in a store.
pub(crate) const FOLDER: &str = ".sweeps";

/// Every trial so far.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct State {
    pub trials: Vec<Trial>,
}

/// One trial: what it ran with and how it went.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub(crate) struct Trial {
    pub trial: usize,
    pub params: Point,
    pub status: Status,
    /// The run it recorded (`experiment/id`), once found.
    pub run: Option<String>,
    /// The last point of the sweep's metric, and its step.
    pub value: Option<f64>,
    pub step: Option<u64>,
    /// Why it failed or was stopped.
    pub reason: Option<String>,
    /// The `labbook sweep` process that runs it.
    pub host: String,
    pub pid: u32,
    pub started_unix: f64,
    /// How many times it was started (an interrupted trial runs again).
    pub attempts: u32,
}

/// Where a trial is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum Status {
    Running,
    Complete,
    /// Its program failed: it is not run again.
    Failed,
    /// Stopped early by the median rule: it is not run again.
    Stopped,
    /// Stopped by Ctrl-C or a lost `labbook sweep`: it runs again on the next resume.
    Interrupted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Complete => "COMPLETE",
            Status::Failed => "FAILED",
            Status::Stopped => "STOPPED",
            Status::Interrupted => "INTERRUPTED",
        }
    }

    /// Done for good: not run again.
    pub fn finished(self) -> bool {
        matches!(self, Status::Complete | Status::Failed | Status::Stopped)
    }
}

/// A sweep's folder.
#[derive(Clone, Debug)]
pub(crate) struct Sweep {
    pub id: String,
    pub dir: PathBuf,
}

impl Sweep {
    /// The sweep of the spec at `path` in the store at `store`, its folder made and the
    /// spec kept in it.
    pub fn open(store: &Path, path: &Path, spec: &Spec) -> Result<Sweep> {
        let sweep = Sweep::of(store, path, spec);
        fs::create_dir_all(&sweep.dir)
            .with_context(|| format!("cannot create the sweep folder {}", sweep.dir.display()))?;
        let kept = sweep.dir.join("spec.toml");
        if !kept.exists() {
            let text = fs::read_to_string(path)
                .with_context(|| format!("cannot read the sweep spec {}", path.display()))?;
            write_durably(&kept, text.as_bytes())?;
        }
        Ok(sweep)
    }

    /// Where the sweep of the spec at `path` lives, whether or not it has run.
    pub fn of(store: &Path, path: &Path, spec: &Spec) -> Sweep {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("sweep")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect::<String>();
        let hash = crc32c::crc32c(spec.identity().as_bytes());
        let id = format!("{name}-{hash:08x}");
        Sweep {
            dir: store.join(FOLDER).join(&id),
            id,
        }
    }

    /// The sweep `id` of the store, as `labbook sweep show` names it.
    pub fn named(store: &Path, id: &str) -> Result<Sweep> {
        let dir = store.join(FOLDER).join(id);
        if !id.contains(['/', '\\']) && dir.join("spec.toml").is_file() {
            return Ok(Sweep {
                id: id.to_owned(),
                dir,
            });
        }
        let known = Sweep::all(store);
        if known.is_empty() {
            bail!(
                "there is no sweep `{id}` in {}: it has none",
                store.display()
            );
        }
        bail!(
            "there is no sweep `{id}` in {}: it has {}",
            store.display(),
            known.join(", ")
        );
    }

    /// The ids of the store's sweeps, sorted.
    pub fn all(store: &Path) -> Vec<String> {
        let mut ids: Vec<String> = fs::read_dir(store.join(FOLDER))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join("spec.toml").is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect();
        ids.sort();
        ids
    }

    /// The spec the sweep first ran with.
    pub fn spec(&self) -> Result<Spec> {
        Spec::load(&self.dir.join("spec.toml"))
    }

    pub fn log(&self, trial: usize) -> PathBuf {
        self.dir.join(format!("trial-{trial}.log"))
    }

    /// The state as last written (no lock: `state.json` is replaced whole).
    pub fn read(&self) -> Result<State> {
        let path = self.dir.join("state.json");
        match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is no sweep state: remove it to start over",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Runs `change` on the state with the sweep's lock held, and writes the state back.
    pub fn update<R>(&self, change: impl FnOnce(&mut State) -> Result<R>) -> Result<R> {
        let path = self.dir.join("state.lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        lock.lock()
            .with_context(|| format!("cannot lock {}", path.display()))?;
        let mut state = self.read()?;
        let result = change(&mut state)?;
        state.trials.sort_by_key(|t| t.trial);
        let text = serde_json::to_vec_pretty(&state)?;
        write_durably(&self.dir.join("state.json"), &text)?;
        drop(lock);
        Ok(result)
    }
}

/// Which trial a process takes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Pick {
    /// The first one not finished and not running.
    Next,
    /// This one (a SLURM array task).
    Only(usize),
}

/// Marks the trial `pick` finds as running in this process, and returns it: an interrupted
/// trial again with its point, a new one with a point from the spec (for `tpe`, from the
/// finished trials). `None` when there is none left.
pub(crate) fn claim(state: &mut State, spec: &Spec, pick: Pick) -> Result<Option<Trial>> {
    let count = spec.trial_count();
    let free = |n: usize| match state.trials.iter().find(|t| t.trial == n) {
        None => true,
        Some(t) => t.status == Status::Interrupted || (t.status == Status::Running && !alive(t)),
    };
    let number = match pick {
        Pick::Next => (0..count).find(|&n| free(n)),
        Pick::Only(n) => free(n).then_some(n),
    };
    let Some(number) = number else {
        return Ok(None);
    };
    let params = match state.trials.iter().find(|t| t.trial == number) {
        Some(earlier) => earlier.params.clone(),
        None if spec.method == Method::Tpe => {
            let finished: Vec<(Point, f64)> = state
                .trials
                .iter()
                .filter(|t| t.status.finished())
                .filter_map(|t| Some((t.params.clone(), t.value?)))
                .collect();
            super::tpe::next(spec, number, &finished)?
        }
        None => space::point(spec, number),
    };
    let attempts = state
        .trials
        .iter()
        .find(|t| t.trial == number)
        .map_or(0, |t| t.attempts);
    state.trials.retain(|t| t.trial != number);
    let trial = Trial {
        trial: number,
        params,
        status: Status::Running,
        run: None,
        value: None,
        step: None,
        reason: None,
        host: host(),
        pid: std::process::id(),
        started_unix: now(),
        attempts: attempts + 1,
    };
    state.trials.push(trial.clone());
    Ok(Some(trial))
}

/// This machine's name.
pub(crate) fn host() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default()
}

/// Whether the process that runs `trial` is still there (on another host: assumed so).
fn alive(trial: &Trial) -> bool {
    if trial.host != host() {
        return true;
    }
    let pid = nix::unistd::Pid::from_raw(trial.pid as i32);
    !matches!(
        nix::sys::signal::kill(pid, None),
        Err(nix::errno::Errno::ESRCH)
    )
}

/// Writes `bytes` to `path` through a temporary file in the same folder, synced, renamed.
pub(crate) fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = File::create(&temporary)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    fs::rename(&temporary, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
