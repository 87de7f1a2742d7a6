//! `metadata/summary.json`: the last point of each metric stream of one rank, written when
//! the rank ends (`summary.rank<r>.json` for rank r > 0), so that a listing of many runs
//! reads one small file a run instead of the end of every stream.
//!
//! It is a cache of the streams, never their replacement.
//! [`RunDir::last_points`](crate::store::read::RunDir::last_points) uses it only for a run
//! whose info says it ended, and only when it was written at that very end: its `end_unix` is
//! the rank's `end_unix` in `info.json`. A run that crashed, is still running or was resumed
//! since is read from its streams, and so is a run without a summary (one written by an older
//! labbook, or one whose streams could not be read whole at its end).
//!
//! ```json
//! {"rank":0,"end_unix":1732372500.25,"metrics":{"train/loss":{"step":300,"value":0.125,"time":1732372480.5}}}
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::store::jsonl::Point;
use crate::store::layout;

/// The contents of a summary file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The rank whose streams it summarises.
    pub rank: u32,
    /// When the rank ended (seconds since the Unix epoch), as its info says.
    pub end_unix: f64,
    /// The last point of each of the rank's metric streams, by the stream's key
    /// ([`StreamFile::key`](crate::store::read::StreamFile::key): `train/loss`,
    /// `train/loss.rank1`). A stream without points is left out.
    pub metrics: BTreeMap<String, Point>,
}

impl Summary {
    /// The summary rank `rank` of the run in `dir` wrote, if it has a readable one.
    pub fn read(dir: &Path, rank: u32) -> Option<Summary> {
        let bytes = layout::read_whole(&layout::summary_file(dir, rank)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Writes the summary into the run directory `dir`: beside its place first, then renamed
    /// into it, so that a reader sees a whole summary or none. It is not fsynced: a summary
    /// lost or torn by a crash of the machine is one a reader cannot read, and so skips.
    ///
    /// The run does this when it ends; a program that writes run directories itself (a
    /// converter, a benchmark) can too.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let path = layout::summary_file(dir, self.rank);
        let tmp = layout::temporary(&path);
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        fs::write(&tmp, bytes)
            .and_then(|()| fs::rename(&tmp, &path))
            .inspect_err(|_| {
                let _ = fs::remove_file(&tmp);
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_reads_back_with_non_finite_values_and_a_torn_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join(layout::METADATA)).unwrap();
        let point = |step, value| Point {
            step,
            value,
            time: 1_732_370_000.5,
        };
        let summary = Summary {
            rank: 2,
            end_unix: 1_732_372_500.25,
            metrics: BTreeMap::from([
                ("loss.rank2".to_owned(), point(10, 0.125)),
                ("grad".to_owned(), point(11, f64::INFINITY)),
            ]),
        };
        summary.write(dir.path()).unwrap();
        assert_eq!(Summary::read(dir.path(), 2), Some(summary));
        assert_eq!(Summary::read(dir.path(), 0), None);
        let names: Vec<_> = fs::read_dir(dir.path().join(layout::METADATA))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["summary.rank2.json"], "no temporary file is left");

        let path = layout::summary_file(dir.path(), 2);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(r#""value":"Infinity""#), "{text}");
        fs::write(&path, &text[..text.len() / 2]).unwrap();
        assert_eq!(Summary::read(dir.path(), 2), None);
    }
}
