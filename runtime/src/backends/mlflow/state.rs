//! `metadata/mlflow.json`: what of a run the MLflow server is known to hold. The live mirror
//! and `labbook sync` both keep it, so either one continues exactly where the other stopped.
//! It is replaced atomically after every confirmed request and never holds a credential.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::layout;

pub(crate) const FILE: &str = "mlflow.json";

/// The upload state of one run on one server.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SyncState {
    /// The server, without credentials.
    pub tracking_uri: String,
    /// The MLflow experiment the run was filed under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,
    /// The MLflow run this labbook run (rank) is uploaded to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// `<experiment>/<run>/artifacts` on the artifact proxy; absent when the server does
    /// not serve artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_root: Option<String>,
    /// The run's artifact URI as the server gave it: `s3://…` when labbook writes the files
    /// to the object store itself (a server started with `--no-serve-artifacts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_uri: Option<String>,
    /// Large files sent in parts, by path in the run directory: the upload under way, or how
    /// the last one went.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub uploads: BTreeMap<String, PartUpload>,
    /// Params the server holds, with the value it holds.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Metric streams by file (`metrics/train/loss.jsonl`): how much of each was confirmed.
    #[serde(default)]
    pub streams: BTreeMap<String, Progress>,
    /// A metrics batch that was sent without an answer yet: the next upload asks the server
    /// whether it landed before sending anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<InFlight>,
    /// Uploaded files by path in the run directory, with the size and time they had.
    #[serde(default)]
    pub artifacts: BTreeMap<String, Stamp>,
    /// Keys the server (or MLflow's rules) will never accept, with the reason; reported once
    /// and not sent again.
    #[serde(default)]
    pub rejected: BTreeMap<String, String>,
    /// The run's own tags, notes (`mlflow.note.content`), group (`labbook.group`) and parent
    /// run (`mlflow.parentRunId`) as the server holds them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The group's parent run on the server: the group, and the parent's run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<(String, String)>,
    /// The terminal status the server holds (`FINISHED`, `FAILED`, `KILLED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Whether the server held all of the ended run the last time it was checked.
    #[serde(default)]
    pub synced: bool,
    /// Why the last upload stopped early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// How far a stream is uploaded: a byte offset just past a whole line, the points before it,
/// and what that part of the file held, so that a file rewritten since (a resume rolls a
/// stream back to its checkpoint and logs new points) is noticed rather than read from the
/// middle of a line.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Progress {
    pub offset: u64,
    pub points: u64,
    /// The step of the last point before `offset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_step: Option<u64>,
    /// The whole line that ends at `offset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_line: Option<LineMark>,
}

/// A line of a stream file, known by its length (with the newline) and its FNV-1a hash.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LineMark {
    pub len: u64,
    pub fnv: u64,
}

impl LineMark {
    pub fn of(line: &[u8]) -> LineMark {
        // FNV-1a, 64 bits: stable across versions and platforms, unlike std's hasher.
        let fnv = line.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        LineMark {
            len: line.len() as u64,
            fnv,
        }
    }
}

/// A batch sent but not confirmed: each stream's progress before it and the points it holds.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct InFlight {
    /// Stream file → (metric key, progress before, progress after).
    pub streams: BTreeMap<String, (String, Progress, Progress)>,
}

/// A multipart upload of one file: what the object store confirmed, so that an upload that
/// stops (a killed process, a lost connection) goes on without sending those parts again.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PartUpload {
    /// The object store's id of the upload.
    pub upload_id: String,
    /// The file as it was when the upload began; a changed file starts a new upload.
    pub stamp: Stamp,
    /// Bytes in each part but the last.
    pub part_size: u64,
    /// How many parts the file has.
    pub parts: u32,
    /// Confirmed parts: part number (from 1) → the ETag the store answered.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub confirmed: BTreeMap<u32, String>,
    /// The presigned URL of each part, when MLflow's artifact proxy handed them out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// Parts already confirmed when the last attempt began.
    #[serde(default)]
    pub resumed: u32,
    /// Parts the last attempt sent.
    #[serde(default)]
    pub sent: u32,
    /// Whether the store put the parts together into the file.
    #[serde(default)]
    pub completed: bool,
}

/// A file's size and modification time (ns since the epoch).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stamp {
    /// The file's length in bytes.
    pub len: u64,
    /// Its modification time, in nanoseconds since the Unix epoch.
    pub modified: u128,
}

impl SyncState {
    /// Whether the server refused the `kind` (`param`, `metric`, `file`) `key` for good.
    pub(crate) fn is_rejected(&self, kind: &str, key: &str) -> bool {
        self.rejected.contains_key(&format!("{kind} {key}"))
    }

    /// Where a run directory keeps its upload state.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(layout::METADATA).join(FILE)
    }

    /// The state of `dir` for the server at `uri`; a fresh one when the run was never
    /// uploaded there (or the file is unreadable: the server is then asked).
    pub fn load(dir: &Path, uri: &str) -> SyncState {
        std::fs::read_to_string(SyncState::path(dir))
            .ok()
            .and_then(|text| serde_json::from_str::<SyncState>(&text).ok())
            .filter(|state| state.tracking_uri == uri)
            .unwrap_or_else(|| SyncState {
                tracking_uri: uri.to_owned(),
                ..SyncState::default()
            })
    }

    /// Replaces the file atomically.
    pub fn save(&self, dir: &Path) -> crate::error::Result<()> {
        layout::write_json(&SyncState::path(dir), self)
    }
}
