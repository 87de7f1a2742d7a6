//! A run directory as the command reads it: its info and state (a crashed run told apart from
//! a running one), config, params and streams.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::store::jsonl::{self, Point};
use crate::store::layout;
use crate::store::meta::{Info, Status};

/// One run directory, found in the store or named by its path.
#[derive(Clone, Debug)]
pub(crate) struct RunDir {
    pub path: PathBuf,
    /// `experiment/id`.
    pub label: String,
}

/// Where a run is, as a person wants to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Running,
    Complete,
    Failed,
    /// `RUNNING` in its info, but its process on this host is gone.
    Crashed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Running => "RUNNING",
            State::Complete => "COMPLETE",
            State::Failed => "FAILED",
            State::Crashed => "CRASHED",
        }
    }

    pub fn is_live(self) -> bool {
        self == State::Running
    }
}

/// A run's `info.json` and what it means now.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    pub dir: RunDir,
    pub info: Info,
    pub state: State,
}

impl Run {
    pub fn load(dir: &RunDir) -> Result<Run> {
        let path = layout::info_file(&dir.path);
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "{} is not a labbook run: it has no readable metadata/info.json",
                dir.path.display()
            )
        })?;
        let info: Info = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a run's info file", path.display()))?;
        let state = state(&info, &path);
        Ok(Run {
            dir: dir.clone(),
            info,
            state,
        })
    }

    pub fn label(&self) -> &str {
        &self.dir.label
    }

    /// What any rank of the run could not store or send, one line each (ranks other than 0
    /// prefixed with their rank).
    pub fn problems(&self) -> Vec<String> {
        let mut lines = self.info.problems.lines();
        for rank in self.info.ranks.iter().filter(|r| r.rank != self.info.rank) {
            lines.extend(
                rank.problems
                    .lines()
                    .into_iter()
                    .map(|line| format!("rank {}: {line}", rank.rank)),
            );
        }
        lines
    }

    /// The status as a table shows it: `COMPLETE`, or `COMPLETE (2 problems)` when something
    /// was not stored or sent.
    pub fn status_cell(&self) -> String {
        match self.problems().len() {
            0 => self.state.as_str().to_owned(),
            1 => format!("{} (1 problem)", self.state.as_str()),
            n => format!("{} ({n} problems)", self.state.as_str()),
        }
    }

    /// How long the run took, or has taken so far: for a crashed run, until its last
    /// recorded point (`last_point`, if known).
    pub fn duration(&self, last_point: Option<f64>) -> Option<f64> {
        match self.state {
            State::Complete | State::Failed => self.info.duration_s,
            State::Running => Some(now() - self.info.start_unix),
            State::Crashed => last_point.map(|t| t - self.info.start_unix),
        }
    }

    pub fn config(&self) -> Result<Option<Value>> {
        read_json(
            &self
                .dir
                .path
                .join(layout::METADATA)
                .join(layout::CONFIG_FILE),
        )
    }

    pub fn params(&self) -> Result<Option<Value>> {
        read_json(&layout::params_file(&self.dir.path, 0))
    }

    pub fn streams(&self, folder: &str) -> Vec<StreamFile> {
        streams(&self.dir.path, folder)
    }
}

pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn read_json(path: &Path) -> Result<Option<Value>> {
    match fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("{} is not valid JSON", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// `RUNNING` whose process is gone from this host is `CRASHED`; a run on another host
/// cannot be checked and stays `RUNNING`.
fn state(info: &Info, info_path: &Path) -> State {
    match info.status {
        Status::Complete => State::Complete,
        Status::Failed => State::Failed,
        Status::Running => {
            if info.host == this_host() && !alive(info.pid, info_path) {
                State::Crashed
            } else {
                State::Running
            }
        }
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

/// A stream file: `metrics/train/loss.jsonl` is `train/loss`, `loss.rank1.jsonl` is
/// `loss.rank1`.
#[derive(Clone, Debug)]
pub(crate) struct StreamFile {
    pub name: String,
    pub path: PathBuf,
}

impl StreamFile {
    pub fn all(&self) -> Result<jsonl::Stream<Point>> {
        jsonl::read_scalars(&self.path).map_err(Into::into)
    }

    /// The last point, read from the end of the file.
    pub fn last(&self) -> Result<(Option<Point>, Option<String>)> {
        let tail = jsonl::read_scalars_tail(&self.path, 512)?;
        Ok((tail.points.last().copied(), tail.warning))
    }
}

/// The streams in `folder` of a run, sorted by name.
pub(crate) fn streams(dir: &Path, folder: &str) -> Vec<StreamFile> {
    let root = dir.join(folder);
    let mut found = Vec::new();
    walk(&root, &root, &mut found);
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

fn walk(root: &Path, folder: &Path, found: &mut Vec<StreamFile>) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(root, &path, found);
            continue;
        }
        let Some(relative) = path.strip_prefix(root).ok().and_then(|p| p.to_str()) else {
            continue;
        };
        if let Some(name) = relative.strip_suffix(".jsonl") {
            found.push(StreamFile {
                name: name.replace(std::path::MAIN_SEPARATOR, "/"),
                path,
            });
        }
    }
}

/// A JSON object flattened to dotted keys: `{"opt": {"lr": 0.1}}` is `opt.lr = 0.1`.
pub(crate) fn flatten(value: &Value) -> BTreeMap<String, Value> {
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

/// A config or param value in a table cell: strings bare, numbers as written.
pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A number for `--json` output: non-finite values as the store spells them.
pub(crate) fn json_number(value: f64) -> Value {
    if value.is_finite() {
        Value::from(value)
    } else if value.is_nan() {
        Value::from("NaN")
    } else if value > 0.0 {
        Value::from("Infinity")
    } else {
        Value::from("-Infinity")
    }
}
