//! The files of a run directory: its streams (`metrics/`, `text/`, `histograms/`) and any
//! other folder, found without following links.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::Result;
use crate::histogram::Summary;
use crate::store::jsonl::{self, Point, Stream};
use crate::store::layout;

/// What a stream holds, and so the folder it is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamKind {
    /// Numbers (`metrics/`): read with [`StreamFile::scalars`].
    Metric,
    /// Texts (`text/`): read with [`StreamFile::texts`].
    Text,
    /// Histogram summaries (`histograms/`): read with [`StreamFile::histograms`].
    Histogram,
    /// System metrics from the run's sampler (`system/`), whose steps are seconds since the
    /// run started: read with [`StreamFile::scalars`].
    System,
}

impl StreamKind {
    /// The folder of the run directory that holds streams of this kind.
    pub fn folder(self) -> &'static str {
        match self {
            StreamKind::Metric => layout::METRICS,
            StreamKind::Text => layout::TEXT,
            StreamKind::Histogram => layout::HISTOGRAMS,
            StreamKind::System => layout::SYSTEM,
        }
    }
}

/// One stream file of a run: the points one rank logged under one name, a JSON object a
/// line (`{"step":10,"value":0.25,"time":1732371234.5}`).
///
/// Every reader skips a torn last line (a run killed mid-write) and says so in
/// [`Stream::warning`]; a broken line elsewhere is [`Error::Corrupt`](crate::Error::Corrupt).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StreamFile {
    kind: StreamKind,
    name: String,
    rank: u32,
    path: PathBuf,
}

impl StreamFile {
    pub(super) fn new(kind: StreamKind, name: String, rank: u32, path: PathBuf) -> StreamFile {
        StreamFile {
            kind,
            name,
            rank,
            path,
        }
    }

    /// What the stream holds.
    pub fn kind(&self) -> StreamKind {
        self.kind
    }

    /// The name it was logged under: `train/loss`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The rank that logged it.
    pub fn rank(&self) -> u32 {
        self.rank
    }

    /// The name and, for a rank other than 0, the rank: `train/loss`, `train/loss.rank1` (its
    /// file name in the stream's folder, less `.jsonl`). Distinct within a run and kind.
    pub fn key(&self) -> String {
        match self.rank {
            0 => self.name.clone(),
            rank => format!("{}.rank{rank}", self.name),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every point of a metric stream.
    pub fn scalars(&self) -> Result<Stream<Point>> {
        jsonl::read_scalars(&self.path)
    }

    /// The points of a metric stream in about its last `bytes` bytes (at least its last whole
    /// line), without reading the rest: the latest values of a long stream, cheaply.
    pub fn tail(&self, bytes: u64) -> Result<Stream<Point>> {
        jsonl::read_scalars_tail(&self.path, bytes)
    }

    /// The last points of a metric stream: [`StreamFile::tail`] of its last line or so.
    pub fn last(&self) -> Result<Stream<Point>> {
        self.tail(512)
    }

    /// Every `(step, text)` of a text stream.
    pub fn texts(&self) -> Result<Stream<(u64, String)>> {
        jsonl::read_texts(&self.path)
    }

    /// Every `(step, summary, time)` of a histogram stream.
    pub fn histograms(&self) -> Result<Stream<(u64, Summary, f64)>> {
        jsonl::read_histograms(&self.path)
    }
}

/// A regular file in a run directory.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RunFile {
    relative: String,
    path: PathBuf,
    size: u64,
    modified: Option<SystemTime>,
}

impl RunFile {
    /// The path relative to the run directory, with `/` between folders:
    /// `artifacts/images/samples/100.png`.
    pub fn relative(&self) -> &str {
        &self.relative
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its size in bytes, when it was listed.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// When it was last written, as of its listing (`None` where the system does not say).
    pub fn modified(&self) -> Option<SystemTime> {
        self.modified
    }
}

/// The streams of `kind` in run directory `dir`, sorted by key.
pub(super) fn list(dir: &Path, kind: StreamKind) -> Vec<StreamFile> {
    let folder = kind.folder();
    let prefix = format!("{folder}/");
    // Stream names come from file names alone: no file is asked for its size.
    let mut found: Vec<StreamFile> = walk(dir, Path::new(folder), false)
        .0
        .into_iter()
        .filter_map(|file| {
            let key = file
                .relative
                .strip_prefix(&prefix)?
                .strip_suffix(".jsonl")?;
            let rank = layout::stream_rank(&file.path).unwrap_or(0);
            let name = match rank {
                0 => key,
                rank => key.strip_suffix(&format!(".rank{rank}")).unwrap_or(key),
            };
            Some(StreamFile::new(kind, name.to_owned(), rank, file.path))
        })
        .collect();
    found.sort_by_cached_key(StreamFile::key);
    found
}

/// Every regular file under `dir/folder`, sorted by relative path. Links, the folder itself
/// included, are left out: never followed, never opened.
pub(super) fn files(dir: &Path, folder: &Path) -> Vec<RunFile> {
    walk(dir, folder, true).0
}

/// [`files`] (with their sizes and times if `stat`), and the relative paths of what it left
/// out (links and special files), sorted.
pub(super) fn walk(dir: &Path, folder: &Path, stat: bool) -> (Vec<RunFile>, Vec<String>) {
    let top = dir.join(folder);
    let mut found = Vec::new();
    let mut left_out = Vec::new();
    if !folder.as_os_str().is_empty()
        && fs::symlink_metadata(&top).is_ok_and(|m| m.file_type().is_symlink())
    {
        left_out.push(layout::relative(dir, &top));
        return (found, left_out);
    }
    let mut pending = vec![top];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            // The entry's own type: a link is a link, whatever it points to.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                let relative = layout::relative(dir, &path);
                let meta = if stat { entry.metadata().ok() } else { None };
                found.push(RunFile {
                    relative,
                    path,
                    size: meta.as_ref().map_or(0, fs::Metadata::len),
                    modified: meta.and_then(|m| m.modified().ok()),
                });
            } else {
                left_out.push(layout::relative(dir, &path));
            }
        }
    }
    found.sort_by(|a, b| a.relative.cmp(&b.relative));
    left_out.sort();
    (found, left_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_of_every_rank_are_listed_by_key_and_links_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = dir.path().join("metrics");
        fs::create_dir_all(metrics.join("train")).unwrap();
        for file in [
            "train/loss.jsonl",
            "loss.jsonl",
            "loss.rank1.jsonl",
            "loss2.jsonl",
            "notes.txt",
        ] {
            fs::write(metrics.join(file), "").unwrap();
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/hostname", metrics.join("link.jsonl")).unwrap();
            std::os::unix::fs::symlink("/etc", metrics.join("outside")).unwrap();
        }
        let found = list(dir.path(), StreamKind::Metric);
        let keys: Vec<String> = found.iter().map(StreamFile::key).collect();
        assert_eq!(keys, ["loss", "loss.rank1", "loss2", "train/loss"]);
        assert_eq!((found[1].name(), found[1].rank()), ("loss", 1));
        assert_eq!(found[3].path(), metrics.join("train/loss.jsonl"));
        assert!(list(dir.path(), StreamKind::Text).is_empty());
    }
}
