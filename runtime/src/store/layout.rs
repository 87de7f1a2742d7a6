//! Where things live in a run directory:
//!
//! ```text
//! runs/<experiment>/<id>/
//!     metadata/config.json     the #[config] argument
//!     metadata/info.json       status, times, command, host, git, ranks, ...
//!     metadata/rank<r>.json    what each rank reports of itself
//!     metadata/summary.json    the last point of each metric, written at the run's end
//!                              (`summary.rank<r>.json` for rank r > 0): a cache of the streams
//!     metrics/<name>.jsonl     one point a line: {"step":…,"value":…,"time":…}
//!     metrics/<name>.rank<r>.jsonl   the same stream from rank r > 0
//!     params.json              the `param` sites, by name
//!     text/<name>.jsonl        one text a line: {"step":…,"value":"…","time":…}
//!     histograms/<name>.jsonl  one summary a line: {"step":…,"value":{min,max,…,buckets},"time":…}
//!     checkpoints/<name>/      per checkpoint site: step-<step>.<ext> + step-<step>.meta.json
//!                              sidecars, last.<ext> (`.rank<r>` before the extension on rank r)
//!     system/<name>.jsonl      the sampler's CPU, memory, disk, network (and GPU) points:
//!                              {"step":<seconds since the start>,"value":…,"time":…}
//!     artifacts/  logs/
//! ```
//!
//! A name such as `train/loss` is a sub-path (`metrics/train/loss.jsonl`); names are
//! checked so they can never leave the run directory.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

pub const METADATA: &str = "metadata";
pub const METRICS: &str = "metrics";
pub const TEXT: &str = "text";
pub const HISTOGRAMS: &str = "histograms";
/// The system metrics the run's sampler records (their steps are seconds, not training steps).
pub const SYSTEM: &str = "system";
/// The folders that hold JSON-lines streams of training steps, which a resumed run rolls
/// back to its checkpoint. [`SYSTEM`] is not one: its points are of wall-clock time.
pub const STREAM_FOLDERS: [&str; 3] = [METRICS, TEXT, HISTOGRAMS];
pub const ARTIFACTS: &str = "artifacts";
pub const LOGS: &str = "logs";
pub const CONFIG_FILE: &str = "config.json";
pub const INFO_FILE: &str = "info.json";
pub const PARAMS_FILE: &str = "params.json";

/// The directory of all runs: `LABBOOK_DIR`, or `./runs`.
pub fn root() -> PathBuf {
    std::env::var_os("LABBOOK_DIR")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("runs"), PathBuf::from)
}

/// `<dir>/<folder>/<name>.jsonl`, or `<name>.rank<r>.jsonl` for ranks other than 0.
pub fn stream_file(dir: &Path, folder: &str, name: &str, rank: u32) -> PathBuf {
    let file = if rank == 0 {
        format!("{name}.jsonl")
    } else {
        format!("{name}.rank{rank}.jsonl")
    };
    dir.join(folder).join(file)
}

/// The rank a stream file belongs to: `loss.jsonl` is rank 0's, `loss.rank3.jsonl` rank 3's.
pub fn stream_rank(path: &Path) -> Option<u32> {
    let stem = path.file_name()?.to_str()?.strip_suffix(".jsonl")?;
    match stem.rsplit_once(".rank") {
        Some((_, rank)) if !rank.is_empty() && rank.bytes().all(|b| b.is_ascii_digit()) => {
            rank.parse().ok()
        }
        _ => Some(0),
    }
}

/// `artifacts/images/<name>/<step>.png` (`<step>.rank<r>.png` for other ranks).
pub fn image_file(dir: &Path, name: &str, step: u64, rank: u32) -> PathBuf {
    let file = if rank == 0 {
        format!("{step}.png")
    } else {
        format!("{step}.rank{rank}.png")
    };
    dir.join(ARTIFACTS).join("images").join(name).join(file)
}

/// `params.json`, or `params.rank<r>.json`.
pub fn params_file(dir: &Path, rank: u32) -> PathBuf {
    if rank == 0 {
        dir.join(PARAMS_FILE)
    } else {
        dir.join(format!("params.rank{rank}.json"))
    }
}

pub fn info_file(dir: &Path) -> PathBuf {
    dir.join(METADATA).join(INFO_FILE)
}

pub fn rank_file(dir: &Path, rank: u32) -> PathBuf {
    dir.join(METADATA).join(format!("rank{rank}.json"))
}

/// `metadata/summary.json`, or `summary.rank<r>.json` for ranks other than 0.
pub fn summary_file(dir: &Path, rank: u32) -> PathBuf {
    match rank {
        0 => dir.join(METADATA).join("summary.json"),
        rank => dir.join(METADATA).join(format!("summary.rank{rank}.json")),
    }
}

/// Creates the folders every run has.
pub fn create_run_folders(dir: &Path) -> Result<()> {
    for folder in [METADATA, METRICS, TEXT, HISTOGRAMS, ARTIFACTS, LOGS] {
        let path = dir.join(folder);
        fs::create_dir_all(&path).map_err(Error::io("cannot create", &path))?;
    }
    Ok(())
}

/// The bytes of a file labbook writes whole and replaces by a rename (`info.json`, the config,
/// params, a summary): one `read` of the size the file has, not a loop that asks once more at
/// its end (a listing of many runs reads several such files a run).
pub(crate) fn read_whole(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut bytes = vec![0; usize::try_from(len).unwrap_or(usize::MAX)];
    match file.read_exact(&mut bytes) {
        Ok(()) => Ok(bytes),
        // Shorter than it was a moment ago: written in place by someone else.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => fs::read(path),
        Err(e) => Err(e),
    }
}

/// Writes `value` as pretty JSON so that a reader sees the old file or the new one, never
/// a half-written one ([`write_durably`]).
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::InvalidValue {
        name: path.display().to_string(),
        reason: e.to_string(),
    })?;
    bytes.push(b'\n');
    write_durably(path, &bytes).map_err(Error::io("cannot write", path))
}

/// The temporary name `path` is written under before it is renamed into place. It keeps
/// `.tmp.` in the name, which every reader of the run directory skips.
pub(crate) fn temporary(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy());
    let (stem, extension) = name.split_once('.').unwrap_or((&name, ""));
    path.with_file_name(format!("{stem}.tmp.{}.{extension}", std::process::id()))
}

/// Makes what was written into `folder` (new names, renames, removals) durable.
pub(crate) fn sync_folder(folder: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    fs::File::open(folder)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = folder;
    Ok(())
}

/// Writes `bytes` to `path` so that a reader sees the old file or the new one: a temporary
/// file, fsynced, renamed into place, the folder fsynced.
pub(crate) fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temporary(path);
    let write = || -> std::io::Result<()> {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_folder(path.parent().unwrap_or(Path::new(".")))
}

/// `path` relative to the run directory `dir`, with `/` separators (a part that is not UTF-8
/// lossily): how the run's files are named in problems, sidecars and every backend.
pub(crate) fn relative(dir: &Path, path: &Path) -> String {
    let parts: Vec<_> = path
        .strip_prefix(dir)
        .unwrap_or(path)
        .iter()
        .map(|c| c.to_string_lossy())
        .collect();
    parts.join("/")
}
