//! The local run directory: always on, and the source of truth every other view is built
//! from. [`read`] reads it back; [`meta`] and [`jsonl`] are the formats of its files.
//!
//! ```text
//! runs/<experiment>/<id>/
//!     metadata/config.json     the #[config] argument
//!     metadata/info.json       status, times, command, host, git, ranks, ... (meta::Info)
//!     metadata/rank<r>.json    what each rank reports of itself (meta::RankInfo)
//!     metadata/summary.json    the last point of each metric at the run's end (summary::Summary)
//!     metrics/<name>.jsonl     one point a line: {"step":…,"value":…,"time":…}
//!     metrics/<name>.rank<r>.jsonl   the same stream from rank r > 0
//!     params.json              the `param` sites, by name
//!     text/<name>.jsonl        one text a line: {"step":…,"value":"…","time":…}
//!     histograms/<name>.jsonl  one summary a line: {"step":…,"value":{min,max,…,buckets},"time":…}
//!     checkpoints/<name>/      per checkpoint site: step-<step>.<ext> + step-<step>.meta.json
//!                              sidecars, last.<ext> (`.rank<r>` before the extension on rank r)
//!     artifacts/  logs/
//! ```
//!
//! A name such as `train/loss` is a sub-path (`metrics/train/loss.jsonl`); names are
//! checked so they can never leave the run directory.

#[doc(hidden)]
pub mod alloc;
pub mod jsonl;
pub(crate) mod layout;
pub mod meta;
pub mod read;
pub mod summary;

use std::path::PathBuf;

/// The directory of the run store: `LABBOOK_DIR`, or `./runs` when it is unset or empty.
/// Runs are written there, and [`read::Store::from_env`] opens it.
pub fn dir() -> PathBuf {
    layout::root()
}
