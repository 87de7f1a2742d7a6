//! `#[log(checkpoint, keep = N)]` and resuming a run from its last checkpoint.
//!
//! A checkpoint is written on the training thread, after the writer has drained, into its
//! site's folder: `checkpoints/<site>/step-<step>.<ext>` (`step-<step>.rank<r>.<ext>` on rank
//! `r > 0`), with a sidecar `step-<step>.meta.json` that names the file, holds its size and
//! CRC-32C, the step, every site's counters and the length of every stream file of the rank
//! at that moment. `last.<ext>` is a second name (a hard link) of the site's newest file, for
//! people and other tools; resuming never reads it. Each file is written to a temporary
//! name, fsynced and renamed, its folder fsynced (`files.rs`), so a kill leaves whole files.
//! `keep` applies per site and rank; with `best = "metric", mode = max | min` a site keeps
//! its `keep` best by that metric and its newest, and `best.<ext>` names the best one
//! (`best.rs`). Resuming picks the newest consistent
//! checkpoint (`point.rs` has the rule), truncates each of the rank's streams back to its
//! recorded length (points logged after it are rolled back) and restores the counters, so
//! no step is written twice and none is missing.

mod best;
mod files;
mod point;
mod resume;
mod save;
mod streams;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::gate::Counter;

pub(crate) use self::best::restore as restore_best;
pub use self::best::{Keep, Mode, Score};
pub(crate) use self::resume::Resume;
pub(crate) use self::save::{write, Saving};

/// The folder of a run directory that holds its checkpoints.
pub const FOLDER: &str = "checkpoints";
/// The extension of a checkpoint's sidecar: `step-<step>.meta.json`.
pub const SIDECAR: &str = "meta.json";

/// Values a `#[log(checkpoint)]` site saves. `Format` tells implementations apart: dfdx
/// models (feature `dfdx`) are saved as safetensors, anything `Serialize` as JSON.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be saved as a `checkpoint`",
    label = "not a model",
    note = "a `checkpoint` takes a dfdx model (feature `dfdx`, saved as safetensors) or any `Serialize` value (saved as JSON)"
)]
pub trait Checkpoint<Format> {
    /// The file extension of a saved checkpoint.
    const EXTENSION: &'static str;
    /// Writes the checkpoint to `path` (a temporary name, renamed into place once written);
    /// the error in one sentence.
    fn save(&self, path: &Path) -> std::result::Result<(), String>;
}

/// Types `labbook::run().restore(&mut value)` can load a checkpoint into.
pub trait Restore<Format> {
    /// The file extension of the checkpoints it loads.
    const EXTENSION: &'static str;
    /// Replaces `self` with the checkpoint in `path`; the error in one sentence.
    fn load(&mut self, path: &Path) -> std::result::Result<(), String>;
}

/// The JSON format of checkpoints of `Serialize` values.
#[derive(Debug)]
pub enum Json {}

impl<T: Serialize + ?Sized> Checkpoint<Json> for T {
    const EXTENSION: &'static str = "json";
    fn save(&self, path: &Path) -> std::result::Result<(), String> {
        // Streamed to the file: a large model is never held twice in memory.
        let file = fs::File::create(path).map_err(|e| e.to_string())?;
        let mut writer = std::io::BufWriter::with_capacity(1 << 16, file);
        serde_json::to_writer_pretty(&mut writer, self).map_err(|e| e.to_string())?;
        std::io::Write::flush(&mut writer).map_err(|e| e.to_string())
    }
}

impl<T: serde::de::DeserializeOwned> Restore<Json> for T {
    const EXTENSION: &'static str = "json";
    fn load(&mut self, path: &Path) -> std::result::Result<(), String> {
        let text = fs::read_to_string(path).map_err(|e| e.to_string())?;
        *self = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// The sidecar of one checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sidecar {
    /// The run that saved it: `experiment/id`.
    pub run: String,
    /// The step it was saved at.
    pub step: u64,
    /// The checkpoint file, relative to the run directory.
    pub file: String,
    /// When it was saved: seconds since the Unix epoch.
    pub time: f64,
    /// Every site's counters, by site index, with the site's name.
    pub sites: BTreeMap<u32, (String, Counter)>,
    /// The length of each stream file of this rank, relative to the run directory.
    pub streams: BTreeMap<String, u64>,
    /// The checkpoint site that saved it (empty before checkpoints had a folder per site).
    #[serde(default)]
    pub name: String,
    /// The site's position among the experiment's sites.
    #[serde(default)]
    pub index: u32,
    /// The rank that saved it.
    #[serde(default)]
    pub rank: u32,
    /// Counts the checkpoints this rank has saved in the run, across resumes.
    #[serde(default)]
    pub sequence: u64,
    /// How many checkpoints of the site are kept.
    #[serde(default = "one")]
    pub keep: usize,
    /// The size of the file, in bytes.
    #[serde(default)]
    pub size: u64,
    /// The CRC-32C of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc32c: Option<u32>,
    /// The sites further down the function that were due to fire right after this
    /// checkpoint (they ran since the site's previous checkpoint and their countdown was at
    /// zero), by index; a checkpoint site among them means this checkpoint is half a pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_after: Option<BTreeMap<u32, String>>,
    /// The metric the site keeps its best checkpoints by, and its value at this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best: Option<Score>,
}

fn one() -> usize {
    1
}

/// Every sidecar under `checkpoints/` with its stem relative to that folder
/// (`model/step-0000000003`), without following links.
pub fn sidecars(dir: &Path) -> Vec<(String, Sidecar)> {
    let folder = dir.join(FOLDER);
    let suffix = format!(".{SIDECAR}");
    let mut found = Vec::new();
    files::walk(&folder, &mut |path| {
        let Some(relative) = path.strip_prefix(&folder).ok() else {
            return;
        };
        let relative: Vec<_> = relative.iter().map(|p| p.to_string_lossy()).collect();
        let relative = relative.join("/");
        let Some(stem) = relative.strip_suffix(&suffix) else {
            return;
        };
        if stem.contains(".tmp.") {
            return;
        }
        if let Some(sidecar) = fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        {
            found.push((stem.to_owned(), sidecar));
        }
    });
    found
}
