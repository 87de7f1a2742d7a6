//! Reading the runs `labbook ls` lists, on every core: each run's info first, and only for a
//! run the info filters admit its config, params (when a condition or the sort may ask for
//! one) and the last point of each metric (from the summary a finished run wrote at its end).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use super::filter::InfoFilter;
use crate::store::Run;
use crate::warn;
use labbook::store::read::{self, Point, RunDir};

/// One line of the table, with everything a condition or the sort may ask for.
#[derive(Debug)]
pub(crate) struct Row {
    pub run: Run,
    /// `metadata/config.json` as written, and flattened to dotted keys.
    pub config_json: Option<Value>,
    pub config: BTreeMap<String, Value>,
    pub params: BTreeMap<String, Value>,
    pub metrics: BTreeMap<String, Point>,
}

/// Which runs to read, and which of their files.
#[derive(Debug)]
pub(crate) struct Wanted<'a> {
    pub filter: &'a InfoFilter,
    /// `None`: every metric.
    pub metrics: Option<BTreeSet<String>>,
    pub params: bool,
}

/// Reads the rows of the runs in `dirs` that `wanted.filter` admits, on every core, in the
/// order of `dirs`. Each thread takes the next slice of runs until none is left, so a slow
/// disk or a busy core holds up no other thread.
pub(crate) fn load_all(dirs: &[RunDir], wanted: &Wanted<'_>) -> Vec<Row> {
    const SLICE: usize = 64;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let next = AtomicUsize::new(0);
    let mut slices: Vec<(usize, Vec<Row>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.min(dirs.len().div_ceil(SLICE)))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let start = index * SLICE;
                        if start >= dirs.len() {
                            return done;
                        }
                        let slice = &dirs[start..dirs.len().min(start + SLICE)];
                        let rows = slice.iter().filter_map(|d| load(d, wanted)).collect();
                        done.push((index, rows));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    slices.sort_unstable_by_key(|(index, _)| *index);
    slices.into_iter().flat_map(|(_, rows)| rows).collect()
}

fn load(dir: &RunDir, wanted: &Wanted<'_>) -> Option<Row> {
    let run = Run::load(dir)
        .map_err(|e| warn(format_args!("skipped {}: {e:#}", dir.label())))
        .ok()?;
    if !wanted.filter.admits(&run) {
        return None;
    }
    let config_json = dir
        .config()
        .map_err(|e| warn(format_args!("{}: {e:#}", dir.label())))
        .ok()
        .flatten();
    let config = config_json
        .as_ref()
        .map_or_else(BTreeMap::new, read::flatten);
    let params = if wanted.params {
        dir.params()
            .ok()
            .flatten()
            .map_or_else(BTreeMap::new, |p| read::flatten(&p))
    } else {
        BTreeMap::new()
    };
    let last = dir.last_points(&run.info, |key| {
        wanted.metrics.as_ref().is_none_or(|m| m.contains(key))
    });
    last.warnings.iter().for_each(warn);
    Some(Row {
        run,
        config_json,
        config,
        params,
        metrics: last.points,
    })
}
