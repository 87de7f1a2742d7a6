//! Reading the runs `labbook ls` lists, on every core: each run's info first, and only for a
//! run the info filters admit its config, params (when a condition or the sort may ask for
//! one) and the last point of each metric ([`RunDir::overview`]: a finished run's summary
//! holds its last points and its config).

use std::collections::{BTreeMap, BTreeSet};

use super::filter::InfoFilter;
use super::row::Row;
use crate::store::Run;
use crate::warn;
use labbook::store::read::{self, RunDir};

/// Which runs to read, and which of their files.
#[derive(Debug)]
pub(crate) struct Wanted<'a> {
    pub filter: &'a InfoFilter,
    /// `None`: every metric.
    pub metrics: Option<BTreeSet<String>>,
    pub params: bool,
    /// The config as written, for `--json`.
    pub config_json: bool,
}

/// Reads the rows of the runs in `dirs` that `wanted.filter` admits, on every core, in the
/// order of `dirs`.
pub(crate) fn load_all(dirs: &[RunDir], wanted: &Wanted<'_>) -> Vec<Row> {
    crate::parallel::filter_map(dirs.iter().collect(), |dir| load(dir, wanted))
}

fn load(dir: &RunDir, wanted: &Wanted<'_>) -> Option<Row> {
    let metrics = |key: &str| wanted.metrics.as_ref().is_none_or(|m| m.contains(key));
    let seen = dir
        .overview(|info, state| wanted.filter.admits(info, state), metrics)
        .map_err(|e| warn(format_args!("skipped {}: {e:#}", dir.label())))
        .ok()??;
    seen.warnings.iter().for_each(warn);
    let config = seen
        .config
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
    let run = Box::new(Run {
        dir: dir.clone(),
        info: seen.info,
        state: seen.state,
    });
    Some(Row {
        run,
        config_json: seen.config.filter(|_| wanted.config_json),
        config,
        params,
        metrics: seen.points,
    })
}
