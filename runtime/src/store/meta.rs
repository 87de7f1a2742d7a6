//! What a run records about itself: `metadata/info.json` ([`Info`]) and each rank's
//! `metadata/rank<r>.json` ([`RankInfo`]). The data only; gathering it at run start is the
//! run's business (`crate::run`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::problems::Problems;

mod reproducibility;

pub use self::reproducibility::{
    Build, Diff, LeftOut, LeftOutReason, Machine, Package, CODE, DIFF_FILE,
};

/// Where a run is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Started and not yet ended (or ended without a chance to say so: see
    /// [`State::Crashed`](crate::store::read::State::Crashed)).
    Running,
    /// Ended normally.
    Complete,
    /// Ended with an error or a panic, or was interrupted.
    Failed,
}

impl Status {
    /// `RUNNING`, `COMPLETE` or `FAILED`, as `info.json` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Complete => "COMPLETE",
            Status::Failed => "FAILED",
        }
    }
}

/// The contents of `metadata/info.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Info {
    /// The experiment's name (`#[experiment(name = …)]`, or the function's).
    pub experiment: String,
    /// The run's number within its experiment, from 1.
    pub id: u64,
    /// Where the run is in its life, as it last wrote it.
    pub status: Status,
    /// Why a failed run failed, in one sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// RFC 3339, UTC.
    pub start_time: String,
    /// Seconds since the Unix epoch.
    pub start_unix: f64,
    /// When the run ended: RFC 3339, UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// When the run ended: seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_unix: Option<f64>,
    /// How long the run took, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    /// The `#[experiment]` function.
    pub function: String,
    /// The file the function is in.
    pub source_file: String,
    /// The process's command line, secrets redacted.
    pub command: Vec<String>,
    /// The program's path.
    pub executable: Option<String>,
    /// The directory the process ran in.
    pub working_dir: Option<String>,
    /// The machine's host name.
    pub host: String,
    /// Who ran it.
    pub user: Option<String>,
    /// The process id, on `host`.
    pub pid: u32,
    /// This process's rank in a job of several processes (0 alone).
    pub rank: u32,
    /// How many ranks the job has (1 alone).
    pub world_size: u32,
    /// What started the ranks: `torchrun`, `openmpi`, `pmi`, `slurm`, or `none`.
    pub launcher: String,
    /// The launcher's job id, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// The version of labbook that wrote the run.
    pub labbook_version: String,
    /// labbook's enabled Cargo features.
    pub features: Vec<String>,
    /// The backends this run writes to.
    pub backends: Vec<String>,
    /// The run's tags: `key` → `value` (`""` for a bare tag such as `baseline`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The group the run belongs to (a sweep, a study), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Free text about the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The config keys overridden at launch (`labbook::config`): dotted key → value and source.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, Override>,
    /// Why the training loop stopped before its end, when an early stop decided it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_early: Option<StoppedEarly>,
    /// The source tree's commit, when the program ran inside a git work tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<Git>,
    /// How the program was built: compiler, target, profile, `Cargo.lock`, crate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// The machine this rank ran on: CPUs, memory, GPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<Machine>,
    /// The top-level `seed` field of the `#[config]`, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<serde_json::Value>,
    /// Total time log calls waited on a full queue.
    pub queue_blocked_s: f64,
    /// How often the run was resumed, and the checkpoint step of the latest resume.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resumes: u32,
    /// The checkpoint step the latest resume started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_from_step: Option<u64>,
    /// Every rank of the job, as each reported itself (rank 0's file only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranks: Vec<RankInfo>,
    /// What this rank could not store or send; empty when nothing was lost.
    #[serde(default, skip_serializing_if = "Problems::is_empty")]
    pub problems: Problems,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One config key overridden at launch, as `info.json` records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    /// The value as given (`0.01`, `[64,32]`, `adam`).
    pub value: String,
    /// Where it came from: `--set`, `LABBOOK_SET`, `--config <file>` or `LABBOOK_CONFIG <file>`.
    pub source: String,
}

/// An early stop's decision ([`EarlyStop`](crate::EarlyStop)), as `info.json` records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoppedEarly {
    /// The step at which the loop was told to stop.
    pub step: u64,
    /// The metric watched.
    pub metric: String,
    /// Its best value.
    pub best: f64,
    /// The step of the best value.
    pub best_step: u64,
    /// Why, in one sentence.
    pub reason: String,
}

/// The state of the source tree the run was started from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Git {
    /// The commit checked out (`HEAD`).
    pub commit: String,
    /// Uncommitted changes to tracked files.
    pub dirty: bool,
    /// The top folder of the work tree: where the patch applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_tree: Option<String>,
    /// Files neither tracked nor ignored (`git ls-files --others --exclude-standard`), from
    /// the top of the work tree. They are not in the patch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub untracked: Vec<String>,
    /// The uncommitted changes as `code/diff.patch`, when there are any (rank 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<Diff>,
}

/// What one rank of a job reports of itself in `metadata/rank<r>.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RankInfo {
    /// The rank.
    pub rank: u32,
    /// Its machine's host name.
    pub host: String,
    /// Its process id, on `host`.
    pub pid: u32,
    /// Where it is in its life.
    pub status: Status,
    /// Why it failed, in one sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it started: seconds since the Unix epoch.
    pub start_unix: f64,
    /// When it ended: seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_unix: Option<f64>,
    /// What it could not store or send.
    #[serde(default, skip_serializing_if = "Problems::is_empty")]
    pub problems: Problems,
}

impl Info {
    /// What any rank of the run could not store or send, one line each; those of ranks other
    /// than this one prefixed with `rank <r>: `. Empty when nothing was lost.
    pub fn problem_lines(&self) -> Vec<String> {
        let mut lines = self.problems.lines();
        for rank in self.other_ranks() {
            let prefix = format!("rank {}: ", rank.rank);
            lines.extend(
                rank.problems
                    .lines()
                    .into_iter()
                    .map(|line| prefix.clone() + &line),
            );
        }
        lines
    }

    /// How many lines [`Info::problem_lines`] has, without writing them.
    pub fn problem_count(&self) -> usize {
        self.problems.entries().count()
            + self
                .other_ranks()
                .map(|rank| rank.problems.entries().count())
                .sum::<usize>()
    }

    /// The ranks listed in this file other than its own.
    fn other_ranks(&self) -> impl Iterator<Item = &RankInfo> {
        self.ranks.iter().filter(move |r| r.rank != self.rank)
    }

    /// What this rank reports of itself.
    pub(crate) fn rank_info(&self) -> RankInfo {
        RankInfo {
            rank: self.rank,
            host: self.host.clone(),
            pid: self.pid,
            status: self.status,
            error: self.error.clone(),
            start_unix: self.start_unix,
            end_unix: self.end_unix,
            problems: self.problems.clone(),
        }
    }

    /// Marks the run ended at `end` (seconds since the epoch).
    pub(crate) fn end(&mut self, status: Status, error: Option<String>, end: f64) {
        self.status = status;
        self.error = error;
        self.end_time = Some(rfc3339(end));
        self.end_unix = Some(end);
        self.duration_s = Some((end - self.start_unix).max(0.0));
    }
}

/// A run's tags, group and notes, as `info.json` has them: set by `#[experiment(tags, group)]`,
/// `LABBOOK_TAGS` / `LABBOOK_GROUP` / `LABBOOK_NOTES`, `run().tag(…)` / `run().note(…)`,
/// and `labbook tag` / `labbook note` ([`RunDir::edit_tags`](crate::store::read::RunDir::edit_tags)).
///
/// ```
/// use labbook::RunTags;
///
/// let mut tags = RunTags::default();
/// tags.add("baseline")?;
/// tags.add("optimizer=adam")?;
/// tags.tag("lr", "0.1")?;
/// assert_eq!(tags.joined().collect::<Vec<_>>(), ["baseline", "lr=0.1", "optimizer=adam"]);
/// assert!(tags.add("a,b").is_err());
/// tags.set_group(Some("lr-sweep"))?;
/// # Ok::<(), labbook::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunTags {
    /// `key` → `value` (`""` for a bare tag such as `baseline`).
    pub tags: BTreeMap<String, String>,
    /// The group the run belongs to.
    pub group: Option<String>,
    /// Free text about the run.
    pub notes: Option<String>,
}

impl RunTags {
    /// The tags, group and notes of `info`.
    pub fn of(info: &Info) -> RunTags {
        RunTags {
            tags: info.tags.clone(),
            group: info.group.clone(),
            notes: info.notes.clone(),
        }
    }

    /// Each tag as one string: `key=value`, or `key` alone for a bare tag.
    pub fn joined(&self) -> impl Iterator<Item = String> + '_ {
        self.tags.iter().map(|(key, value)| {
            if value.is_empty() {
                key.clone()
            } else {
                format!("{key}={value}")
            }
        })
    }

    /// Adds a tag written `key` or `key=value`, replacing the value of the same key.
    pub fn add(&mut self, tag: &str) -> crate::error::Result<()> {
        let (key, value) = crate::options::split_tag(tag);
        self.tag(key, value)
    }

    /// Tags `key` = `value` (`""`: a bare tag), replacing the value of the same key; an error
    /// that says why for a tag no backend could take.
    pub fn tag(&mut self, key: &str, value: &str) -> crate::error::Result<()> {
        let key = key.trim();
        if let Some(reason) = tag_problem(key, value) {
            return Err(crate::error::Error::InvalidTag(reason));
        }
        self.tags.insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    /// Puts the run in `group` (or in none), checked by the rules of names (`lr-sweep`,
    /// `sweeps/lr`).
    pub fn set_group(&mut self, group: Option<&str>) -> crate::error::Result<()> {
        let group = group.map(str::trim).filter(|g| !g.is_empty());
        if let Some(reason) = group.and_then(|g| crate::name::problem(g, "the group")) {
            return Err(crate::error::Error::InvalidTag(reason));
        }
        self.group = group.map(str::to_owned);
        Ok(())
    }

    /// Sets the notes; empty text removes them.
    pub fn set_notes(&mut self, text: &str) {
        let text = text.trim();
        self.notes = (!text.is_empty()).then(|| text.to_owned());
    }

    /// Writes these tags, group and notes into `info`.
    pub fn apply(&self, info: &mut Info) {
        info.tags = self.tags.clone();
        info.group = self.group.clone();
        info.notes = self.notes.clone();
    }
}

/// Why `key` = `value` cannot be a tag, or `None` when it can.
pub(crate) fn tag_problem(key: &str, value: &str) -> Option<String> {
    if key.contains('=') {
        return Some(format!(
            "the tag key `{key}` holds `=`; give the key and the value apart"
        ));
    }
    crate::options::tag_problem(&format!("{key}={value}"))
}

/// `unix` seconds as RFC 3339 with milliseconds, UTC.
pub(crate) fn rfc3339(unix: f64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(unix.max(0.0));
    humantime::format_rfc3339_millis(time).to_string()
}
