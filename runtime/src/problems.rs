//! What a run could not store or send: the `problems` section of `metadata/info.json`.
//!
//! A fault may stop a run, but it never goes unrecorded. Every layer that drops something it
//! was handed (a stream file the disk refuses, a backend that fails or panics, an artifact
//! that cannot be copied) counts it here under the stream, backend or site it belongs to,
//! with the first error in words. `labbook ls`/`show` and the end-of-run summary flag a run
//! whose problems are not empty.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// One thing that went wrong for a stream, a backend or a site.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Records (points, texts, files) that could not be stored or sent.
    pub lost: u64,
    /// The first error, as one sentence.
    pub error: String,
    /// How many errors were seen in all (the first is kept).
    pub errors: u64,
    /// A backend switched off for the rest of the run (it panicked or kept failing).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

/// The `problems` section of `info.json`: empty for a run that stored everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problems {
    /// By stream file, relative to the run directory (`metrics/loss.jsonl`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub streams: BTreeMap<String, Problem>,
    /// By backend name (`mlflow`, `tensorboard`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub backends: BTreeMap<String, Problem>,
    /// By log site or run-level action (`artifact data`, `checkpoint model`, `config`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sites: BTreeMap<String, Problem>,
}

impl Problems {
    /// Whether nothing was lost.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty() && self.backends.is_empty() && self.sites.is_empty()
    }

    /// Records lost across every entry.
    pub fn lost(&self) -> u64 {
        self.entries().map(|(_, _, p)| p.lost).sum()
    }

    /// Every entry as `(section, key, problem)`.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, &str, &Problem)> + '_ {
        let streams = self.streams.iter().map(|(k, p)| ("stream", k.as_str(), p));
        let backends = self
            .backends
            .iter()
            .map(|(k, p)| ("backend", k.as_str(), p));
        let sites = self.sites.iter().map(|(k, p)| ("site", k.as_str(), p));
        streams.chain(backends).chain(sites)
    }

    /// One line per entry, for the console summary and `labbook show`.
    pub fn lines(&self) -> Vec<String> {
        self.entries()
            .map(|(section, key, p)| {
                let mut line = format!("{section} `{key}`: ");
                if p.lost > 0 {
                    line.push_str(&format!("{} record(s) not stored; ", p.lost));
                }
                if p.disabled {
                    line.push_str("switched off; ");
                }
                line.push_str(&p.error);
                line
            })
            .collect()
    }

    /// A short summary for a table cell: `3 lost` or `1 backend off`.
    pub fn summary(&self) -> String {
        let lost = self.lost();
        let off = self.backends.values().filter(|p| p.disabled).count();
        let mut parts = Vec::new();
        if lost > 0 {
            parts.push(format!("{lost} lost"));
        }
        if off > 0 {
            parts.push(format!("{off} backend(s) off"));
        }
        if parts.is_empty() && !self.is_empty() {
            parts.push(format!("{} problem(s)", self.entries().count()));
        }
        parts.join(", ")
    }
}

/// Where the layers of a live run record their problems; cheap to clone and share with
/// backends and the writer thread.
#[derive(Clone, Debug, Default)]
pub struct ProblemLog(Arc<Mutex<Problems>>);

/// Which section of [`Problems`] an entry belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// [`Problems::streams`].
    Stream,
    /// [`Problems::backends`].
    Backend,
    /// [`Problems::sites`].
    Site,
}

impl ProblemLog {
    /// An empty log.
    pub fn new() -> ProblemLog {
        ProblemLog::default()
    }

    /// Counts `lost` records of `key` that could not be stored because of `error`.
    /// Returns whether this is the first problem of `key`.
    pub fn record(
        &self,
        section: Section,
        key: &str,
        lost: u64,
        error: impl std::fmt::Display,
    ) -> bool {
        self.update(section, key, error, |entry| entry.lost += lost)
    }

    /// Counts one error for `key`, keeping the first, then lets `change` amend the entry;
    /// returns whether it was the first.
    fn update(
        &self,
        section: Section,
        key: &str,
        error: impl std::fmt::Display,
        change: impl FnOnce(&mut Problem),
    ) -> bool {
        let mut problems = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let map = match section {
            Section::Stream => &mut problems.streams,
            Section::Backend => &mut problems.backends,
            Section::Site => &mut problems.sites,
        };
        let entry = map.entry(key.to_owned()).or_default();
        if entry.errors == 0 {
            entry.error = error.to_string();
        }
        entry.errors += 1;
        change(entry);
        entry.errors == 1
    }

    /// Counts records lost to a stream file (`metrics/loss.jsonl`).
    pub fn stream(&self, file: &str, lost: u64, error: impl std::fmt::Display) {
        self.record(Section::Stream, file, lost, error);
    }

    /// Counts records a backend could not take.
    pub fn backend(&self, name: &str, lost: u64, error: impl std::fmt::Display) {
        self.record(Section::Backend, name, lost, error);
    }

    /// Counts what a log site or run-level action could not record.
    /// Returns whether this is the first problem of `key`.
    pub fn site(&self, key: &str, lost: u64, error: impl std::fmt::Display) -> bool {
        self.record(Section::Site, key, lost, error)
    }

    /// Marks a backend switched off for the rest of the run.
    pub fn disable_backend(&self, name: &str, error: impl std::fmt::Display) {
        self.update(Section::Backend, name, error, |entry| entry.disabled = true);
    }

    /// What has been recorded so far.
    pub fn snapshot(&self) -> Problems {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_error_is_kept_and_losses_add_up() {
        let log = ProblemLog::new();
        log.stream("metrics/loss.jsonl", 3, "disk full");
        log.stream("metrics/loss.jsonl", 2, "still full");
        log.disable_backend("mlflow", "panicked: boom");
        let p = log.snapshot();
        let loss = &p.streams["metrics/loss.jsonl"];
        assert_eq!(
            (loss.lost, loss.errors, loss.error.as_str()),
            (5, 2, "disk full")
        );
        assert!(p.backends["mlflow"].disabled);
        assert_eq!(p.lost(), 5);
        assert_eq!(p.summary(), "5 lost, 1 backend(s) off");
        assert_eq!(
            p.lines()[0],
            "stream `metrics/loss.jsonl`: 5 record(s) not stored; disk full"
        );
    }

    #[test]
    fn an_empty_section_is_left_out_of_info_json() {
        let text = serde_json::to_string(&Problems::default()).unwrap();
        assert_eq!(text, "{}");
    }
}
