//! The last point of every metric of a run: from the summary its ranks wrote when they ended,
//! when that summary holds for the end the run's info records, and from the end of each
//! stream otherwise.

use std::collections::BTreeMap;

use serde_json::Value;

use super::run::RunDir;
use crate::store::jsonl::Point;
use crate::store::layout;
use crate::store::meta::{Info, Status};
use crate::store::summary::SummaryFile;

/// The last point of each metric stream of a run: what [`RunDir::last_points`] reads.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct LastPoints {
    /// By [`StreamFile::key`](super::StreamFile::key): `train/loss`, `train/loss.rank1`. A
    /// stream without points yet is left out.
    pub points: BTreeMap<String, Point>,
    /// What was left out, one sentence each: a torn last line skipped (a killed run), a
    /// stream that could not be read.
    pub warnings: Vec<String>,
}

impl RunDir {
    /// The last point of every metric stream of every rank whose key `wanted` accepts, for
    /// the run whose info is `info` (read before: a listing reads it once).
    ///
    /// A run that ended reads it from the summaries its ranks wrote at their end
    /// ([`Summary`](crate::store::summary::Summary)): one small file a rank instead of the
    /// end of every stream. A summary is used only when it was written at the end `info`
    /// records; a run that is running, has crashed, was resumed since, or has no summary (an
    /// older labbook wrote it) is read from its streams, so either way the points are those
    /// on disk.
    ///
    /// ```
    /// use labbook::prelude::*;
    /// use labbook::store::read::Store;
    ///
    /// #[experiment(name = "last")]
    /// fn train() {
    ///     for step in 0..50 {
    ///         #[log(metric, every = 10)]
    ///         let loss = 1.0 / (step as f64 + 1.0);
    ///         #[log(metric, name = "train/acc", every = 25)]
    ///         let acc = step as f64 / 50.0;
    ///     }
    /// }
    ///
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::env::set_var("LABBOOK_DIR", dir.path());
    /// # std::env::set_var("LABBOOK_CONSOLE", "off");
    /// # std::env::set_var("LABBOOK_SYSTEM", "off");
    /// train();
    /// let run = Store::from_env()?.run("last", 1)?;
    /// let last = run.last_points(&run.info()?, |_| true);
    /// assert_eq!(last.points["loss"].step, 40);
    /// assert_eq!(last.points["train/acc"].value, 0.5);
    /// assert!(last.warnings.is_empty());
    /// let only_loss = run.last_points(&run.info()?, |key| key == "loss");
    /// assert_eq!(only_loss.points.keys().collect::<Vec<_>>(), ["loss"]);
    /// # Ok::<(), labbook::Error>(())
    /// ```
    pub fn last_points(&self, info: &Info, wanted: impl Fn(&str) -> bool) -> LastPoints {
        let read = |rank| layout::read_whole(&layout::summary_file(self.path(), rank)).ok();
        self.last_points_from(info, read, wanted).0
    }

    /// [`RunDir::last_points`], with the summary of each rank read by `read` (from a folder
    /// held open), and the config that rank 0's summary recorded: `Some(None)` for a run
    /// without one, `None` when no summary used recorded it.
    pub(super) fn last_points_from(
        &self,
        info: &Info,
        read: impl Fn(u32) -> Option<Vec<u8>>,
        wanted: impl Fn(&str) -> bool,
    ) -> (LastPoints, Recorded) {
        match summarised(info, read) {
            Some((mut points, config)) => {
                points.retain(|key, _| wanted(key));
                let last = LastPoints {
                    points,
                    warnings: Vec::new(),
                };
                (last, config)
            }
            None => (self.last_points_in_streams(None, wanted), None),
        }
    }

    /// The last point of each metric stream (of rank `rank`, or of every rank), read from
    /// the end of the stream.
    pub(crate) fn last_points_in_streams(
        &self,
        rank: Option<u32>,
        wanted: impl Fn(&str) -> bool,
    ) -> LastPoints {
        let mut last = LastPoints::default();
        for stream in self.metrics() {
            let key = stream.key();
            if rank.is_some_and(|r| r != stream.rank()) || !wanted(&key) {
                continue;
            }
            match stream.last() {
                Ok(tail) => {
                    last.warnings.extend(tail.warning);
                    if let Some(point) = tail.points.last() {
                        last.points.insert(key, *point);
                    }
                }
                Err(e) => last.warnings.push(format!("{}: {e}", self.label())),
            }
        }
        last
    }

    /// What rank `rank` writes into its summary at its end: the last point of each of its
    /// metric streams; `None` when a stream could not be read whole, so that a reader goes
    /// on reading that stream itself (and saying what is wrong with it).
    pub(crate) fn summary_of_rank(&self, rank: u32) -> Option<BTreeMap<String, Point>> {
        let last = self.last_points_in_streams(Some(rank), |_| true);
        last.warnings.is_empty().then_some(last.points)
    }
}

/// The config a summary recorded: `Some(None)` for a run without one, `None` when it did
/// not record it.
type Recorded = Option<Option<Value>>;

/// The points of the summaries of every rank (read by `read`), if each was written at the
/// end `info` records for it, and the config rank 0's recorded.
fn summarised(
    info: &Info,
    read: impl Fn(u32) -> Option<Vec<u8>>,
) -> Option<(BTreeMap<String, Point>, Recorded)> {
    if info.status == Status::Running {
        return None;
    }
    let mut points = BTreeMap::new();
    let mut config = None;
    for rank in 0..info.world_size.max(1) {
        let end = if rank == info.rank {
            info.end_unix
        } else {
            info.ranks.iter().find(|r| r.rank == rank)?.end_unix
        };
        let summary = SummaryFile::parse(&read(rank)?)?;
        if summary.rank != rank || Some(summary.end_unix) != end {
            return None;
        }
        if rank == 0 {
            config = summary.config;
        }
        points.extend(summary.metrics);
    }
    Some((points, config))
}
