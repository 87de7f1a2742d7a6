//! `#[log(checkpoint, keep = N)]` and resuming a run from its last checkpoint.
//!
//! A checkpoint is written on the training thread, after the writer has drained, into
//! `checkpoints/step-<step>.<ext>`, with a sidecar `step-<step>.meta.json` holding the run, the
//! step, every site's counters and the length of every stream file at that moment.
//! `checkpoints/last.<ext>` and `last.meta.json` are copies of the newest. Resuming truncates each
//! stream back to its recorded length (points logged after the last checkpoint are rolled
//! back) and restores the counters, so no step is written twice and none is missing.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gate::{Counter, Site};
use crate::store::layout;

pub const FOLDER: &str = "checkpoints";
/// The extension of a checkpoint's sidecar: `step-<step>.meta.json`, `last.meta.json`.
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
    fn save(&self, path: &Path) -> std::result::Result<(), String>;
}

/// Types `labbook::run().restore(&mut value)` can load a checkpoint into.
pub trait Restore<Format> {
    const EXTENSION: &'static str;
    fn load(&mut self, path: &Path) -> std::result::Result<(), String>;
}

/// The JSON format of checkpoints of `Serialize` values.
#[derive(Debug)]
pub enum Json {}

impl<T: Serialize + ?Sized> Checkpoint<Json> for T {
    const EXTENSION: &'static str = "json";
    fn save(&self, path: &Path) -> std::result::Result<(), String> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        fs::write(path, bytes).map_err(|e| e.to_string())
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
    pub run: String,
    pub step: u64,
    /// The checkpoint file, relative to the run directory.
    pub file: String,
    pub time: f64,
    /// Every site's counters, by site index, with the site's name.
    pub sites: BTreeMap<u32, (String, Counter)>,
    /// The length of each stream file of this rank, relative to the run directory.
    pub streams: BTreeMap<String, u64>,
}

/// Saves `value` as the checkpoint of `step` and keeps the newest `keep`.
pub(crate) fn write<F, T: Checkpoint<F> + ?Sized>(
    dir: &Path,
    label: &str,
    rank: u32,
    step: u64,
    keep: usize,
    sites: &[&Site],
    value: &T,
) -> Result<PathBuf> {
    let folder = dir.join(FOLDER);
    fs::create_dir_all(&folder).map_err(Error::io("cannot create", &folder))?;
    let stem = format!("step-{step:010}");
    let file = folder.join(format!("{stem}.{}", T::EXTENSION));
    let tmp = folder.join(format!("{stem}.tmp.{}", T::EXTENSION));
    value.save(&tmp).map_err(|reason| Error::InvalidValue {
        name: stem.clone(),
        reason,
    })?;
    fs::rename(&tmp, &file).map_err(Error::io("cannot write", &file))?;
    let sidecar = Sidecar {
        run: label.to_owned(),
        step,
        file: format!("{FOLDER}/{stem}.{}", T::EXTENSION),
        time: crate::record::now(),
        sites: sites
            .iter()
            .map(|s| (s.index(), (s.name().to_owned(), s.counter())))
            .collect(),
        streams: stream_lengths(dir, rank),
    };
    layout::write_json(&folder.join(format!("{stem}.{SIDECAR}")), &sidecar)?;
    let last = folder.join(format!("last.{}", T::EXTENSION));
    fs::copy(&file, &last).map_err(Error::io("cannot write", &last))?;
    layout::write_json(&folder.join(format!("last.{SIDECAR}")), &sidecar)?;
    prune(&folder, keep);
    Ok(file)
}

/// Removes all but the newest `keep` checkpoints (`last.*` stays).
fn prune(folder: &Path, keep: usize) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    let mut stems: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| Some(name.strip_suffix(&format!(".{SIDECAR}"))?.to_owned()))
        .filter(|stem| stem.starts_with("step-"))
        .collect();
    stems.sort();
    let excess = stems.len().saturating_sub(keep.max(1));
    for stem in &stems[..excess] {
        for entry in fs::read_dir(folder).into_iter().flatten().flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with(&format!("{stem}.")) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// Every stream file this rank writes, with its length.
fn stream_lengths(dir: &Path, rank: u32) -> BTreeMap<String, u64> {
    let mut lengths = BTreeMap::new();
    for folder in layout::STREAM_FOLDERS {
        walk(&dir.join(folder), &mut |path| {
            if layout::stream_rank(path) == Some(rank) {
                if let (Ok(meta), Ok(relative)) = (fs::metadata(path), path.strip_prefix(dir)) {
                    lengths.insert(relative.to_string_lossy().into_owned(), meta.len());
                }
            }
        });
    }
    lengths
}

fn walk(dir: &Path, visit: &mut impl FnMut(&Path)) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, visit);
        } else {
            visit(&path);
        }
    }
}

/// What a resumed run continues from.
#[derive(Debug)]
pub(crate) struct Resume {
    pub sidecar: Sidecar,
}

impl Resume {
    /// Reads the last checkpoint of the run in `dir` and rolls its streams back to it.
    pub fn prepare(dir: &Path, rank: u32) -> Result<Resume> {
        let path = dir.join(FOLDER).join(format!("last.{SIDECAR}"));
        let text = fs::read_to_string(&path).map_err(|e| Error::Io {
            action: "cannot resume: the run has no checkpoint at",
            path: path.clone(),
            source: e,
        })?;
        let sidecar: Sidecar = serde_json::from_str(&text).map_err(|e| Error::Corrupt {
            path: path.clone(),
            line: e.line(),
            reason: e.to_string(),
        })?;
        for (relative, length) in stream_lengths(dir, rank) {
            let file = dir.join(&relative);
            match sidecar.streams.get(&relative) {
                Some(&kept) if kept >= length => {}
                Some(&kept) => {
                    let f = fs::OpenOptions::new()
                        .write(true)
                        .open(&file)
                        .map_err(Error::io("cannot open", &file))?;
                    f.set_len(kept)
                        .map_err(Error::io("cannot roll back", &file))?;
                }
                None => fs::remove_file(&file).map_err(Error::io("cannot roll back", &file))?,
            }
        }
        Ok(Resume { sidecar })
    }

    /// The counters a site continues from, if the checkpoint knows it under the same name.
    pub fn counter(&self, index: u32, name: &str) -> Option<Counter> {
        self.sidecar
            .sites
            .get(&index)
            .filter(|(n, _)| n == name)
            .map(|(_, c)| *c)
    }
}
