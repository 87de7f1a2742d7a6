//! A rank's stream files at a checkpoint, and rolling them back to it on resume.
//!
//! A checkpoint records the length of every stream file of its rank (after fsyncing it);
//! resuming truncates each back to that length. Only the resuming rank's files are touched
//! (`loss.jsonl` is rank 0's, `loss.rank3.jsonl` rank 3's), links are never followed, and
//! a file the checkpoint has no record of is emptied, not removed, and only when its first
//! point is provably newer than the checkpoint.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::files;
use crate::store::layout;

/// Every stream file of `rank`, relative to the run directory, with its length; each is
/// fsynced first so the length recorded is on disk.
pub(crate) fn lengths(dir: &Path, rank: u32) -> BTreeMap<String, u64> {
    let mut lengths = BTreeMap::new();
    for folder in layout::STREAM_FOLDERS {
        files::walk(&dir.join(folder), &mut |path| {
            if layout::stream_rank(path) != Some(rank) {
                return;
            }
            if let Ok(file) = fs::File::open(path) {
                let _ = file.sync_data();
            }
            if let (Ok(meta), Ok(relative)) = (fs::symlink_metadata(path), path.strip_prefix(dir)) {
                lengths.insert(relative_name(relative), meta.len());
            }
        });
    }
    lengths
}

fn relative_name(relative: &Path) -> String {
    let parts: Vec<_> = relative.iter().map(|part| part.to_string_lossy()).collect();
    parts.join("/")
}

/// Rolls `rank`'s streams back to `recorded` (the lengths at a checkpoint saved at
/// `time`); returns what it could not roll back, one sentence each.
pub(crate) fn roll_back(
    dir: &Path,
    rank: u32,
    recorded: &BTreeMap<String, u64>,
    time: f64,
) -> Vec<String> {
    let mut left = Vec::new();
    for (relative, length) in lengths(dir, rank) {
        let path = dir.join(&relative);
        let keep = match recorded.get(&relative) {
            Some(&kept) if kept >= length => continue,
            Some(&kept) => kept,
            None if length == 0 => continue,
            None if first_time(&path).is_some_and(|first| first > time) => 0,
            None => {
                left.push(format!(
                    "{relative} has points from before the checkpoint it was not recorded in; it was left as it is"
                ));
                continue;
            }
        };
        if let Err(e) = truncate(&path, keep) {
            left.push(format!("cannot roll back {relative}: {e}"));
        }
    }
    left
}

/// Cuts the plain file `path` to `length` bytes, refusing anything that became a link.
fn truncate(path: &Path, length: u64) -> std::io::Result<()> {
    let before = fs::symlink_metadata(path)?;
    if !before.file_type().is_file() {
        return Err(std::io::Error::other("not a plain file"));
    }
    let file = fs::OpenOptions::new().write(true).open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let opened = file.metadata()?;
        if (opened.dev(), opened.ino()) != (before.dev(), before.ino()) {
            return Err(std::io::Error::other(
                "the file was replaced while resuming",
            ));
        }
    }
    file.set_len(length)?;
    file.sync_all()
}

/// The `time` of a stream's first point.
fn first_time(path: &Path) -> Option<f64> {
    let mut line = String::new();
    BufReader::new(fs::File::open(path).ok()?)
        .read_line(&mut line)
        .ok()?;
    let point: serde_json::Value = serde_json::from_str(line.trim_end()).ok()?;
    point.get("time")?.as_f64()
}
