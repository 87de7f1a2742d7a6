//! `#[log(checkpoint, keep = 3, best = "test_acc", mode = max)]`: keeping a site's best
//! checkpoints by a metric, and `best.<ext>`.
//!
//! Each checkpoint's sidecar records the metric's latest value when it was saved (the last
//! point of this rank's stream, else rank 0's: the value logged at or before the
//! checkpoint in the loop). Pruning keeps the site's `keep` best by that value and its
//! newest, which resuming needs; a checkpoint saved before the metric had any point ranks
//! below every other. `best.<ext>` (`best.rank<r>.<ext>` on rank `r`) is a second name of
//! the best one, and its sidecar `best.meta.json` names the step file it came from, so
//! `run().restore_best(&mut model)` loads a file that its sidecar verifies. On a tie the
//! earlier checkpoint stays the best: reaching a value again is no improvement.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::files::{self, Saved};
use super::{Restore, SIDECAR};
use crate::error::{Error, Result};
use crate::store::{jsonl, layout};

/// Whether a larger or a smaller value of a metric is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Smaller is better (a loss).
    Min,
    /// Larger is better (an accuracy).
    Max,
}

impl Mode {
    /// Whether `value` is better than `than` by more than `margin`.
    pub fn improves(self, value: f64, than: f64, margin: f64) -> bool {
        match self {
            Mode::Min => value < than - margin,
            Mode::Max => value > than + margin,
        }
    }

    /// `max` or `min`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Min => "min",
            Mode::Max => "max",
        }
    }
}

/// What a checkpoint site keeps: its `keep` newest, or with `best`, its `keep` best by a
/// metric and its newest.
#[derive(Clone, Copy, Debug)]
pub struct Keep {
    /// `keep = N` (1 when not given).
    pub count: usize,
    /// `best = "metric", mode = max | min`.
    pub best: Option<(&'static str, Mode)>,
}

/// A checkpoint's standing by the metric its site keeps the best of, in its sidecar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// The metric.
    pub metric: String,
    /// Whether larger or smaller is better.
    pub mode: Mode,
    /// Its latest value when the checkpoint was saved; `None` before its first point.
    pub value: Option<f64>,
}

/// The latest value of metric `name`: this rank's stream, else rank 0's.
pub(super) fn latest(dir: &Path, rank: u32, name: &str) -> Option<f64> {
    [rank, 0].into_iter().find_map(|r| {
        let path = layout::stream_file(dir, layout::METRICS, name, r);
        let stream = jsonl::read_scalars_tail(&path, 512).ok()?;
        stream.points.last().map(|p| p.value)
    })
}

/// Of one site's checkpoints (oldest first), the positions to keep: the newest and the
/// `count` best by score when the newest has a score, else the `count` newest.
pub(super) fn kept(site: &[&Saved], count: usize) -> Vec<usize> {
    let count = count.max(1);
    let Some(newest) = site.last() else {
        return Vec::new();
    };
    let Some(score) = &newest.sidecar.best else {
        return (site.len().saturating_sub(count)..site.len()).collect();
    };
    let mut ranked: Vec<usize> = (0..site.len()).collect();
    ranked.sort_by(|&a, &b| rank(site[a], score.mode).total_cmp(&rank(site[b], score.mode)));
    let mut kept: Vec<usize> = ranked.into_iter().take(count).collect();
    kept.push(site.len() - 1);
    kept.sort_unstable();
    kept.dedup();
    kept
}

/// A checkpoint's order among its site's, best first: lower is better; no value is worst.
fn rank(saved: &Saved, mode: Mode) -> f64 {
    match saved.sidecar.best.as_ref().and_then(|s| s.value) {
        Some(v) if v.is_finite() => match mode {
            Mode::Min => v,
            Mode::Max => -v,
        },
        _ => f64::INFINITY,
    }
}

/// The best of one site's checkpoints (oldest first): the first to reach the best value.
pub(super) fn best<'a>(site: &[&'a Saved]) -> Option<&'a Saved> {
    let mode = site.last()?.sidecar.best.as_ref()?.mode;
    let mut best: Option<&Saved> = None;
    for saved in site {
        let value = rank(saved, mode);
        if value.is_finite() && best.is_none_or(|b| value < rank(b, mode)) {
            best = Some(saved);
        }
    }
    best
}

/// `best.<ext>` on rank 0, `best.rank<r>.<ext>` on rank `r`.
pub(crate) fn file_name(rank: u32, extension: &str) -> String {
    files::last(rank, extension).replacen("last", "best", 1)
}

/// The sidecar of `best.<ext>`: `best.meta.json` (`best.rank<r>.meta.json`).
pub(crate) fn sidecar_name(rank: u32) -> String {
    file_name(rank, SIDECAR)
}

/// Points `best.<ext>` of `saved`'s site at it, and writes its sidecar, each durably;
/// nothing to do when they are already its.
pub(super) fn point_at(dir: &Path, saved: &Saved) -> std::io::Result<()> {
    let sidecar = &saved.sidecar;
    let folder = files::site_folder(dir, &sidecar.name);
    let current = std::fs::read(folder.join(sidecar_name(sidecar.rank)))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<super::Sidecar>(&bytes).ok());
    if current.is_some_and(|c| (c.sequence, &c.file) == (sidecar.sequence, &sidecar.file)) {
        return Ok(());
    }
    let extension = Path::new(&sidecar.file)
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    files::link_durably(
        &saved.data(dir),
        &folder.join(file_name(sidecar.rank, &extension)),
    )?;
    let mut bytes = serde_json::to_vec_pretty(sidecar).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    layout::write_durably(&folder.join(sidecar_name(sidecar.rank)), &bytes)
}

/// Loads the best checkpoint of `rank` into `value` and returns its step: that of the one
/// site that keeps its best and saves `value`'s format. The file must match its sidecar.
pub(crate) fn restore<F, T: Restore<F> + ?Sized>(
    dir: &Path,
    rank: u32,
    value: &mut T,
) -> Result<Option<u64>> {
    let refuse = |path: PathBuf, reason: String| Error::Io {
        action: "cannot restore the best checkpoint from",
        path,
        source: std::io::Error::other(reason),
    };
    let saved = match find(dir, rank, T::EXTENSION) {
        Ok(None) => return Ok(None),
        Ok(Some(saved)) => saved,
        Err(sites) => {
            return Err(refuse(
                dir.join(super::FOLDER),
                format!(
                    "several checkpoint sites keep a best `.{}` file ({}); load one with `run().restore_named`",
                    T::EXTENSION,
                    sites.join(", ")
                ),
            ))
        }
    };
    saved
        .verify(dir)
        .map_err(|reason| refuse(saved.path.clone(), reason))?;
    let path = saved.data(dir);
    value.load(&path).map_err(|reason| Error::Corrupt {
        path,
        line: 0,
        reason,
    })?;
    Ok(Some(saved.sidecar.step))
}

/// The best checkpoint of `rank` for a value saved as `extension`: the sidecar of one site's
/// `best.meta.json` as a [`Saved`], or the sites that have one when several do.
fn find(dir: &Path, rank: u32, extension: &str) -> std::result::Result<Option<Saved>, Vec<String>> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir.join(super::FOLDER)) else {
        return Ok(None);
    };
    let mut folders: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    folders.sort();
    for folder in folders {
        if !files::kind(&folder).is_some_and(|k| k.is_dir()) {
            continue;
        }
        let path = folder.join(sidecar_name(rank));
        if !files::kind(&path).is_some_and(|k| k.is_file()) {
            continue;
        }
        let Some(sidecar) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<super::Sidecar>(&b).ok())
        else {
            continue;
        };
        if sidecar.file.ends_with(&format!(".{extension}")) {
            found.push(Saved { path, sidecar });
        }
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(found
            .into_iter()
            .map(|s| format!("`{}`", s.sidecar.name))
            .collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_files_are_named_like_last() {
        assert_eq!(file_name(0, "json"), "best.json");
        assert_eq!(file_name(2, "safetensors"), "best.rank2.safetensors");
        assert_eq!(sidecar_name(0), "best.meta.json");
        assert_eq!(sidecar_name(1), "best.rank1.meta.json");
    }

    #[test]
    fn modes_say_which_way_is_better() {
        assert!(Mode::Max.improves(0.9, 0.8, 0.05));
        assert!(!Mode::Max.improves(0.84, 0.8, 0.05));
        assert!(Mode::Min.improves(0.1, 0.2, 0.0));
        assert!(!Mode::Min.improves(0.2, 0.2, 0.0));
    }
}
