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
//! Rank 0's summary also holds the run's config (`metadata/config.json` as it is when the
//! run ends, `null` for a run without one), so that a listing reads two files a run (info
//! and summary) instead of three. A summary without `config` (another rank's, or one an older
//! labbook wrote) leaves the config to be read from `config.json`.
//!
//! ```json
//! {"rank":0,"end_unix":1732372500.25,"config":{"lr":0.01},"metrics":{"train/loss":{"step":300,"value":0.125,"time":1732372480.5}}}
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

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
    /// Rank 0's summary also records the run's config, as `metadata/config.json` holds it
    /// now (and when that file cannot be read, does not, so that a reader reads the file).
    ///
    /// The run does this when it ends; a program that writes run directories itself (a
    /// converter, a benchmark) can too, after its config.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let path = layout::summary_file(dir, self.rank);
        let tmp = layout::temporary(&path);
        let written = Written {
            rank: self.rank,
            end_unix: self.end_unix,
            config: if self.rank == 0 {
                recorded_config(dir)
            } else {
                None
            },
            metrics: &self.metrics,
        };
        let bytes = serde_json::to_vec(&written).map_err(std::io::Error::other)?;
        fs::write(&tmp, bytes)
            .and_then(|()| fs::rename(&tmp, &path))
            .inspect_err(|_| {
                let _ = fs::remove_file(&tmp);
            })
    }
}

/// A summary file as written: a [`Summary`] and, in rank 0's, the run's config.
#[derive(Serialize)]
struct Written<'a> {
    rank: u32,
    end_unix: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<Option<Value>>,
    metrics: &'a BTreeMap<String, Point>,
}

/// A summary file as a listing reads it: the summary and what it recorded of the config.
#[derive(Debug, Deserialize)]
pub(crate) struct SummaryFile {
    pub rank: u32,
    pub end_unix: f64,
    pub metrics: BTreeMap<String, Point>,
    /// `Some(None)`: the run has no config; `None`: the summary did not record it (another
    /// rank's, one an older labbook wrote, or a config that could not be read).
    #[serde(default, deserialize_with = "recorded")]
    pub config: Option<Option<Value>>,
}

impl SummaryFile {
    /// The summary in `bytes`, if they are a whole one.
    pub fn parse(bytes: &[u8]) -> Option<SummaryFile> {
        serde_json::from_slice(bytes).ok()
    }
}

/// A `config` that is there, `null` included.
fn recorded<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Value>>, D::Error> {
    Option::<Value>::deserialize(d).map(Some)
}

/// The config of the run in `dir` as a summary records it: `Some(None)` when it has none,
/// `None` when its file cannot be read.
fn recorded_config(dir: &Path) -> Option<Option<Value>> {
    let path = dir.join(layout::METADATA).join(layout::CONFIG_FILE);
    match layout::read_whole(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).ok().map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(None),
        Err(_) => None,
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

    fn rank_zero(dir: &Path) -> Summary {
        fs::create_dir_all(dir.join(layout::METADATA)).unwrap();
        Summary {
            rank: 0,
            end_unix: 1_732_372_500.25,
            metrics: BTreeMap::from([(
                "loss".to_owned(),
                Point {
                    step: 3,
                    value: 0.5,
                    time: 1_732_372_400.0,
                },
            )]),
        }
    }

    fn file(dir: &Path, rank: u32) -> SummaryFile {
        SummaryFile::parse(&fs::read(layout::summary_file(dir, rank)).unwrap()).unwrap()
    }

    #[test]
    fn rank_zeros_summary_records_the_config_or_that_there_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let summary = rank_zero(dir.path());
        let config = dir.path().join("metadata/config.json");

        summary.write(dir.path()).unwrap();
        assert_eq!(file(dir.path(), 0).config, Some(None), "no config: null");

        fs::write(&config, r#"{"lr": 0.01, "opt": {"name": "adam"}}"#).unwrap();
        summary.write(dir.path()).unwrap();
        let written = file(dir.path(), 0);
        let recorded = serde_json::json!({"lr": 0.01, "opt": {"name": "adam"}});
        assert_eq!(written.config, Some(Some(recorded)));
        assert_eq!(written.metrics, summary.metrics);
        assert_eq!(Summary::read(dir.path(), 0), Some(summary.clone()));

        // A config that cannot be read is not recorded: readers read the file themselves.
        fs::write(&config, "{\"lr\": 0.").unwrap();
        summary.write(dir.path()).unwrap();
        assert_eq!(file(dir.path(), 0).config, None);

        let other = Summary { rank: 1, ..summary };
        other.write(dir.path()).unwrap();
        let text = fs::read_to_string(layout::summary_file(dir.path(), 1)).unwrap();
        assert!(!text.contains("config"), "only rank 0's records it: {text}");
    }

    #[test]
    fn a_summary_an_older_labbook_wrote_reads_without_a_config() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join(layout::METADATA)).unwrap();
        let old = r#"{"rank":0,"end_unix":1732372500.25,"metrics":{"loss":{"step":3,"value":0.5,"time":1732372400.0}}}"#;
        fs::write(layout::summary_file(dir.path(), 0), old).unwrap();
        let read = file(dir.path(), 0);
        assert_eq!(read.config, None, "not recorded, so read from config.json");
        assert_eq!(read.metrics["loss"].step, 3);
        assert_eq!(read.end_unix, 1_732_372_500.25);
        let summary = Summary::read(dir.path(), 0).unwrap();
        assert_eq!(summary.metrics, read.metrics);
    }
}
