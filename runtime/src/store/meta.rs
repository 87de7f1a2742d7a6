//! What a run records about itself: `metadata/info.json` ([`Info`]) and each rank's
//! `metadata/rank<r>.json` ([`RankInfo`]). The data only; gathering it at run start is the
//! run's business (`crate::run`).

use serde::{Deserialize, Serialize};

use crate::problems::Problems;

/// Where a run is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Running,
    Complete,
    Failed,
}

impl Status {
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
    pub experiment: String,
    pub id: u64,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// RFC 3339, UTC.
    pub start_time: String,
    /// Seconds since the Unix epoch.
    pub start_unix: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_unix: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    /// The `#[experiment]` function and the file it is in.
    pub function: String,
    pub source_file: String,
    pub command: Vec<String>,
    pub executable: Option<String>,
    pub working_dir: Option<String>,
    pub host: String,
    pub user: Option<String>,
    pub pid: u32,
    pub rank: u32,
    pub world_size: u32,
    pub launcher: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    pub labbook_version: String,
    /// labbook's enabled Cargo features.
    pub features: Vec<String>,
    /// The backends this run writes to.
    pub backends: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<Git>,
    /// Total time log calls waited on a full queue.
    pub queue_blocked_s: f64,
    /// How often the run was resumed, and the checkpoint step of the latest resume.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resumes: u32,
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

/// The state of the source tree the run was started from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Git {
    pub commit: String,
    /// Uncommitted changes to tracked files.
    pub dirty: bool,
}

/// What one rank of a job reports of itself in `metadata/rank<r>.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RankInfo {
    pub rank: u32,
    pub host: String,
    pub pid: u32,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub start_unix: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_unix: Option<f64>,
    #[serde(default, skip_serializing_if = "Problems::is_empty")]
    pub problems: Problems,
}

impl Info {
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

/// `unix` seconds as RFC 3339 with milliseconds, UTC.
pub(crate) fn rfc3339(unix: f64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(unix.max(0.0));
    humantime::format_rfc3339_millis(time).to_string()
}
