//! One run directory and what it recorded: info, state, config, params, problems, streams.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
#[cfg(target_os = "linux")]
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::folder::FoundIn;
use super::streams::{self, RunFile, StreamFile, StreamKind};
use crate::error::{Error, Result};
use crate::store::jsonl::Point;
use crate::store::layout;
use crate::store::meta::{Info, RankInfo, RunTags, Status};

/// One run directory, found in a [`Store`](super::Store) or named by its path.
///
/// Finding a run reads nothing; each method reads what it returns from the disk, afresh (a
/// live run keeps changing).
///
/// ```
/// use labbook::prelude::*;
/// use labbook::store::read::{State, Store};
///
/// #[experiment(name = "fit")]
/// fn fit(fail: bool) -> anyhow::Result<()> {
///     for step in 0..30 {
///         #[log(metric, every = 10)]
///         let loss = 1.0 / (step as f64 + 1.0);
///     }
///     #[log(text, name = "note")]
///     String::from("done");
///     anyhow::ensure!(!fail, "diverged");
///     Ok(())
/// }
///
/// # let dir = tempfile::tempdir().unwrap();
/// # std::env::set_var("LABBOOK_DIR", dir.path());
/// # std::env::set_var("LABBOOK_CONSOLE", "off");
/// fit(false).unwrap();
/// fit(true).unwrap_err();
///
/// let store = Store::from_env()?;
/// let run = store.run("fit", 1)?;
/// assert_eq!(run.label(), "fit/1");
/// assert_eq!(run.state()?, State::Complete);
/// let steps: Vec<u64> = run.metric("loss")?.iter().map(|p| p.step).collect();
/// assert_eq!(steps, [0, 10, 20]);
/// assert_eq!(run.last_point("loss")?.map(|p| p.step), Some(20));
/// let texts: Vec<String> = run.texts().iter().map(|s| s.key()).collect();
/// assert_eq!(texts, ["note"]);
/// assert!(run.problems()?.is_empty());
///
/// let failed = store.runs_in(State::Failed)?;
/// assert_eq!(failed.len(), 1);
/// assert!(failed[0].info()?.error.unwrap().contains("diverged"));
/// # Ok::<(), labbook::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RunDir {
    path: PathBuf,
    label: String,
    found_in: Option<FoundIn>,
}

/// A run is its path and label, however it was found.
impl PartialEq for RunDir {
    fn eq(&self, other: &RunDir) -> bool {
        (&self.path, &self.label) == (&other.path, &other.label)
    }
}

impl Eq for RunDir {}

impl std::hash::Hash for RunDir {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.path, &self.label).hash(state);
    }
}

/// Where a run is in its life, as a person wants to know it: [`Status`] from its info, with a
/// run whose process is gone told apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Still running (or running on another host, where it cannot be checked).
    Running,
    /// Ended normally.
    Complete,
    /// Ended with an error or a panic, or was interrupted.
    Failed,
    /// `RUNNING` in its info, but its process on this host is gone: killed, out of memory,
    /// or the machine went down.
    Crashed,
}

impl State {
    /// `RUNNING`, `COMPLETE`, `FAILED` or `CRASHED`, as `labbook ls` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Running => "RUNNING",
            State::Complete => "COMPLETE",
            State::Failed => "FAILED",
            State::Crashed => "CRASHED",
        }
    }

    /// Every state, in the order above.
    pub const ALL: [State; 4] = [
        State::Running,
        State::Complete,
        State::Failed,
        State::Crashed,
    ];
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RunDir {
    pub(super) fn new(path: PathBuf, label: String) -> RunDir {
        RunDir {
            path,
            label,
            found_in: None,
        }
    }

    /// The run `name` of the experiment folder `folder` (at `path`), as a walk finds it.
    pub(super) fn found(path: PathBuf, label: String, found_in: FoundIn) -> RunDir {
        RunDir {
            path,
            label,
            found_in: Some(found_in),
        }
    }

    /// The experiment folder the run was found in, held open, and the run's name in it.
    pub(super) fn found_in(&self) -> Option<&FoundIn> {
        self.found_in.as_ref()
    }

    /// The run directory at `path`, labelled by the path, whether or not it holds a run: for
    /// a run directory at hand. [`Store::resolve`](super::Store::resolve) labels a path in
    /// the store `experiment/id` instead.
    pub fn at(path: impl Into<PathBuf>) -> RunDir {
        let path = path.into();
        let label = path.display().to_string();
        RunDir::new(path, label)
    }

    /// The run directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `experiment/id`, or the path for a run outside the store.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// `metadata/info.json`: status, times, command line, host, git commit, ranks, problems.
    /// [`Error::NotARun`] if it cannot be read, [`Error::Corrupt`] if it is no run's info.
    pub fn info(&self) -> Result<Info> {
        self.parse_info(layout::read_whole(&layout::info_file(&self.path)))
    }

    /// The info in `read`, the bytes of its `info.json` (or why they could not be read).
    pub(super) fn parse_info(&self, read: io::Result<Vec<u8>>) -> Result<Info> {
        let bytes = read.map_err(|source| Error::NotARun {
            path: self.path.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            path: layout::info_file(&self.path),
            line: e.line(),
            reason: e.to_string(),
        })
    }

    /// Changes the run's tags, group and notes (what `labbook tag` and `labbook note` do) and
    /// leaves every other field of `metadata/info.json` as it is. The file is replaced
    /// whole (written beside it, fsynced, renamed), so a reader sees the old one or the new
    /// one; a run still going takes the change before it next writes the file. Returns the
    /// tags, group and notes now in the file; an error from `change` leaves it untouched.
    ///
    /// ```
    /// # use labbook::prelude::*;
    /// # use labbook::store::read::Store;
    /// # #[experiment(name = "retag")]
    /// # fn retag() {}
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::env::set_var("LABBOOK_DIR", dir.path());
    /// # std::env::set_var("LABBOOK_CONSOLE", "off");
    /// # retag();
    /// let run = Store::from_env()?.run("retag", 1)?;
    /// run.edit_tags(|tags| {
    ///     tags.add("reviewed")?;
    ///     tags.tags.remove("draft");
    ///     tags.set_notes("the best of the sweep");
    ///     Ok(())
    /// })?;
    /// assert_eq!(run.info()?.notes.as_deref(), Some("the best of the sweep"));
    /// # Ok::<(), labbook::Error>(())
    /// ```
    pub fn edit_tags(&self, change: impl FnOnce(&mut RunTags) -> Result<()>) -> Result<RunTags> {
        let path = layout::info_file(&self.path);
        let text = fs::read_to_string(&path).map_err(|source| Error::NotARun {
            path: self.path.clone(),
            source,
        })?;
        let corrupt = |e: serde_json::Error| Error::Corrupt {
            path: path.clone(),
            line: e.line(),
            reason: e.to_string(),
        };
        let mut tags = RunTags::of(&serde_json::from_str::<Info>(&text).map_err(corrupt)?);
        change(&mut tags)?;
        let mut json: serde_json::Map<String, Value> =
            serde_json::from_str(&text).map_err(corrupt)?;
        let mut fields = serde_json::to_value(&tags.tags).map_err(corrupt)?;
        for (key, value) in [
            ("tags", (!tags.tags.is_empty()).then(|| fields.take())),
            ("group", tags.group.clone().map(Value::from)),
            ("notes", tags.notes.clone().map(Value::from)),
        ] {
            match value {
                Some(value) => json.insert(key.to_owned(), value),
                None => json.remove(key),
            };
        }
        layout::write_json(&path, &json)?;
        Ok(tags)
    }

    /// Where the run is: its status, or [`State::Crashed`] for a run that says it is running
    /// on this host while its process is gone.
    pub fn state(&self) -> Result<State> {
        Ok(self.state_of(&self.info()?))
    }

    /// [`RunDir::state`] from the run's `info`, read before (a listing reads it once).
    pub fn state_of(&self, info: &Info) -> State {
        match info.status {
            Status::Complete => State::Complete,
            Status::Failed => State::Failed,
            Status::Running => {
                let written = layout::info_file(&self.path);
                if info.host == this_host() && !alive(info.pid, &written) {
                    State::Crashed
                } else {
                    State::Running
                }
            }
        }
    }

    /// What rank `rank` reported of itself in `metadata/rank<r>.json` (a run of several
    /// ranks); `None` if it wrote nothing.
    pub fn rank_info(&self, rank: u32) -> Result<Option<RankInfo>> {
        read_json(&layout::rank_file(&self.path, rank))
    }

    /// The `#[config]` argument (`metadata/config.json`), if the run has one.
    pub fn config(&self) -> Result<Option<Value>> {
        read_json(&self.path.join(layout::METADATA).join(layout::CONFIG_FILE))
    }

    /// The `param` sites of rank 0 by name (`params.json`), if any were logged.
    pub fn params(&self) -> Result<Option<Value>> {
        read_json(&layout::params_file(&self.path, 0))
    }

    /// What any rank of the run could not store or send, one line each, those of other ranks
    /// prefixed with `rank <r>: `; empty when nothing was lost.
    pub fn problems(&self) -> Result<Vec<String>> {
        Ok(self.info()?.problem_lines())
    }

    /// The metric streams of every rank, sorted by [`StreamFile::key`].
    pub fn metrics(&self) -> Vec<StreamFile> {
        streams::list(&self.path, StreamKind::Metric)
    }

    /// The text streams of every rank, sorted by [`StreamFile::key`].
    pub fn texts(&self) -> Vec<StreamFile> {
        streams::list(&self.path, StreamKind::Text)
    }

    /// The histogram streams of every rank, sorted by [`StreamFile::key`].
    pub fn histograms(&self) -> Vec<StreamFile> {
        streams::list(&self.path, StreamKind::Histogram)
    }

    /// The system-metric streams of every rank (`system/`), sorted by [`StreamFile::key`]:
    /// `cpu_utilization_percentage`, `process_memory_rss_megabytes.rank1`, …
    pub fn system(&self) -> Vec<StreamFile> {
        streams::list(&self.path, StreamKind::System)
    }

    /// The streams of one kind; [`RunDir::metrics`] and its neighbours by a value.
    pub fn streams(&self, kind: StreamKind) -> Vec<StreamFile> {
        streams::list(&self.path, kind)
    }

    /// Every point of metric `name` of rank 0, in the order logged. A torn last line (a run
    /// killed mid-write) is left out; [`StreamFile::scalars`] says so.
    pub fn metric(&self, name: &str) -> Result<Vec<Point>> {
        Ok(self.metric_file(name).scalars()?.points)
    }

    /// The last point of metric `name` of rank 0, read from the end of its file (cheap for a
    /// long stream); `None` if it has no points yet.
    pub fn last_point(&self, name: &str) -> Result<Option<Point>> {
        Ok(self.metric_file(name).last()?.points.last().copied())
    }

    fn metric_file(&self, name: &str) -> StreamFile {
        self.stream(StreamKind::Metric, name)
    }

    /// The stream of `kind` that rank 0 logs under `name`, whether or not it exists (yet):
    /// reading a stream that does not exist is an [`Error::Io`].
    pub fn stream(&self, kind: StreamKind, name: &str) -> StreamFile {
        let path = layout::stream_file(&self.path, kind.folder(), name, 0);
        StreamFile::new(kind, name.to_owned(), 0, path)
    }

    /// Every regular file under `folder` of the run (`artifacts`, `checkpoints`, `logs`, or
    /// deeper, like `artifacts/images`), sorted by path. Links are left out, never followed.
    pub fn files(&self, folder: impl AsRef<Path>) -> Vec<RunFile> {
        streams::files(&self.path, folder.as_ref())
    }

    /// What [`RunDir::files`] leaves out under `folder`: the relative paths of links and
    /// special files (FIFOs, sockets, devices), sorted. A mirror of the run can say what it
    /// did not copy.
    pub fn skipped(&self, folder: impl AsRef<Path>) -> Vec<String> {
        streams::walk(&self.path, folder.as_ref(), false).1
    }

    /// The bytes of every file in the run directory (links not followed).
    pub fn size(&self) -> u64 {
        self.files("").iter().map(RunFile::size).sum()
    }
}

/// `Ok(None)` for a file that is not there.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    parse_json(path, layout::read_whole(path))
}

/// The JSON in `read`, the bytes of the file at `path` (or why they could not be read);
/// `Ok(None)` for a file that is not there.
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    read: io::Result<Vec<u8>>,
) -> Result<Option<T>> {
    match read {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Corrupt {
                path: path.to_owned(),
                line: e.line(),
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot read", path)(e)),
    }
}

fn this_host() -> &'static str {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| gethostname::gethostname().to_string_lossy().into_owned())
}

/// Whether process `pid` is the one that wrote `info_path`: it exists, and (on Linux) it
/// started before the file was last written, so a recycled pid does not count.
#[cfg(target_os = "linux")]
fn alive(pid: u32, info_path: &Path) -> bool {
    if !Path::new(&format!("/proc/{pid}")).exists() {
        return false;
    }
    let written = fs::metadata(info_path).and_then(|m| m.modified()).ok();
    match (process_start(pid), written) {
        (Some(started), Some(written)) => started <= written + Duration::from_secs(2),
        _ => true,
    }
}

#[cfg(not(target_os = "linux"))]
fn alive(pid: u32, _info_path: &Path) -> bool {
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .map_or(true, |s| s.success())
}

/// When process `pid` started: boot time plus its start in clock ticks (100 a second on
/// every Linux labbook runs on).
#[cfg(target_os = "linux")]
fn process_start(pid: u32) -> Option<SystemTime> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let ticks: u64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
    let boot: u64 = fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(boot) + Duration::from_millis(ticks * 10))
}
