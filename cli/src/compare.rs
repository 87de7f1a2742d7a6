//! `labbook compare RUN RUN…`: runs side by side, one column each: the config keys that
//! differ, and the final value of every metric with the best of each row marked.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use anyhow::Result;
use serde_json::Value;

use super::finals::{finals, marked_cells};
use super::group_by::{self, GroupBy};
use super::store;
use super::table::{self, Table};
use labbook::store::read::{self, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Two or more runs: `experiment/id`, `experiment` (its latest run) or a run directory.
    /// With `--group-by`: runs or experiments (all their runs), every run when none.
    #[arg(required_unless_present = "group_by")]
    runs: Vec<String>,
    /// Pools runs by `group` or by a tag's value (`tag:KEY`): one column a value, with the
    /// number of runs and the mean final value of each metric.
    #[arg(long, value_name = "group|tag:KEY")]
    group_by: Option<GroupBy>,
}

pub(crate) fn run(store: &Store, args: &Args, out: &mut dyn Write) -> Result<()> {
    if let Some(by) = &args.group_by {
        return group_by::compare(store, by, &args.runs, out);
    }
    if args.runs.len() < 2 {
        let error = <crate::Cli as clap::CommandFactory>::command().error(
            clap::error::ErrorKind::TooFewValues,
            "compare needs two runs or more (or `--group-by`)",
        );
        return Err(error.into());
    }
    let runs = store::load_all(store, &args.runs)?;
    let configs: Vec<BTreeMap<String, Value>> = runs
        .iter()
        .map(|r| {
            Ok(r.dir
                .config()?
                .as_ref()
                .map_or_else(BTreeMap::new, read::flatten))
        })
        .collect::<Result<_>>()?;
    let finals = runs.iter().map(finals).collect::<Result<Vec<_>>>()?;

    let mut headers = vec![String::new()];
    headers.extend(runs.iter().map(|r| r.label().to_owned()));
    let mut table = Table::new(headers);
    let mut row = |label: &str, cells: Vec<String>| {
        let mut line = vec![label.to_owned()];
        line.extend(cells);
        table.push(line);
    };
    row(
        "status",
        runs.iter().map(|r| r.state.as_str().into()).collect(),
    );
    row(
        "started (UTC)",
        runs.iter()
            .map(|r| table::minute(r.info.start_unix))
            .collect(),
    );
    row(
        "duration",
        runs.iter()
            .zip(&finals)
            .map(|(r, f)| {
                let last = f.values().map(|p| p.1).reduce(f64::max);
                r.duration(last).map_or("-".into(), table::duration)
            })
            .collect(),
    );

    let keys: BTreeSet<&String> = configs.iter().flat_map(|c| c.keys()).collect();
    let differing: Vec<&String> = keys
        .iter()
        .copied()
        .filter(|k| configs.iter().any(|c| c.get(*k) != configs[0].get(*k)))
        .collect();
    let same = keys.len() - differing.len();
    let title = match same {
        0 => "config".to_owned(),
        1 => "config (1 key the same in all)".to_owned(),
        n => format!("config ({n} keys the same in all)"),
    };
    row(&title, blank(runs.len()));
    for key in differing {
        row(
            &format!("  {key}"),
            configs
                .iter()
                .map(|c| c.get(key).map_or("-".into(), store::text))
                .collect(),
        );
    }

    let names: BTreeSet<&String> = finals.iter().flat_map(|f| f.keys()).collect();
    let mut marked = false;
    if !names.is_empty() {
        row("final metrics", blank(runs.len()));
    }
    for name in names {
        let values: Vec<Option<f64>> = finals.iter().map(|f| f.get(name).map(|p| p.0)).collect();
        let (cells, has_best) = marked_cells(name, &values);
        marked |= has_best;
        row(&format!("  {name}"), cells);
    }
    for column in 1..=runs.len() {
        table.align_right(column);
    }
    table.write(out)?;
    if marked {
        writeln!(
            out,
            "\n* the best of a row: lowest for loss- and error-like names, highest for accuracy- and score-like ones"
        )?;
    }
    Ok(())
}

fn blank(count: usize) -> Vec<String> {
    vec![String::new(); count]
}
