//! `labbook compare --group-by tag:KEY|group [RUN|EXPERIMENT…]`: runs pooled by the value of
//! one tag (or by their group), one column a value, with the number of runs and the mean of
//! each metric's final value; the best mean of a row is marked as `compare` marks the best
//! run. Without arguments it pools every run of the store; an experiment stands for all its
//! runs.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Result};

use super::finals::{finals, marked_cells};
use super::store::{self, Run};
use super::table::Table;
use labbook::store::read::{RunDir, Store};

/// The final `(value, time)` of each metric of one run.
type Finals = BTreeMap<String, (f64, f64)>;

/// What runs are pooled by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum GroupBy {
    /// `tag:KEY`: the value of tag `KEY` (`-` for runs without it).
    Tag(String),
    /// `group`: the run's group.
    Group,
}

impl std::str::FromStr for GroupBy {
    type Err = String;

    fn from_str(text: &str) -> Result<GroupBy, String> {
        match text.split_once(':') {
            None if text == "group" => Ok(GroupBy::Group),
            Some(("tag", key)) if !key.trim().is_empty() => Ok(GroupBy::Tag(key.trim().into())),
            _ => Err(format!(
                "`{text}` is not something runs can be grouped by; write `group` or `tag:KEY`, like `tag:optimizer`"
            )),
        }
    }
}

impl GroupBy {
    /// The column a run goes to; `-` when it has no such tag or group.
    fn value(&self, run: &Run) -> String {
        let value = match self {
            GroupBy::Tag(key) => {
                run.info
                    .tags
                    .get(key)
                    .map(|v| if v.is_empty() { key.clone() } else { v.clone() })
            }
            GroupBy::Group => run.info.group.clone(),
        };
        value.unwrap_or_else(|| "-".to_owned())
    }

    fn title(&self) -> String {
        match self {
            GroupBy::Tag(key) => format!("tag {key}"),
            GroupBy::Group => "group".to_owned(),
        }
    }
}

/// The runs the arguments name: each a run or an experiment (all its runs); every run of
/// the store when there are none.
fn runs(store: &Store, args: &[String]) -> Result<Vec<Run>> {
    let mut dirs: Vec<RunDir> = Vec::new();
    if args.is_empty() {
        dirs = store.runs()?;
    }
    for arg in args {
        let is_run = arg
            .rsplit('/')
            .next()
            .is_some_and(|id| id.parse::<u64>().is_ok())
            || Path::new(arg).join("metadata/info.json").is_file();
        if is_run {
            dirs.push(store::resolve(store, arg)?);
        } else {
            dirs.extend(store.experiment(arg)?);
        }
    }
    let mut seen = BTreeSet::new();
    dirs.retain(|dir| seen.insert(dir.path().to_owned()));
    dirs.iter().map(Run::load).collect()
}

pub(crate) fn compare(
    store: &Store,
    by: &GroupBy,
    args: &[String],
    out: &mut dyn Write,
) -> Result<()> {
    let runs = runs(store, args)?;
    if runs.is_empty() {
        bail!("there are no runs to group; run an experiment first or name runs to compare");
    }
    // Value → the final `(value, time)` of each metric of each of its runs.
    let mut pools: BTreeMap<String, Vec<Finals>> = BTreeMap::new();
    for run in &runs {
        pools.entry(by.value(run)).or_default().push(finals(run)?);
    }
    let mut headers = vec![by.title()];
    headers.extend(pools.keys().cloned());
    let mut table = Table::new(headers);
    let mut row = |label: &str, cells: Vec<String>| {
        let mut line = vec![label.to_owned()];
        line.extend(cells);
        table.push(line);
    };
    row(
        "runs",
        pools.values().map(|p| p.len().to_string()).collect(),
    );
    let names: BTreeSet<&String> = pools.values().flatten().flat_map(|f| f.keys()).collect();
    let mut marked = false;
    if !names.is_empty() {
        row("final metrics (mean)", vec![String::new(); pools.len()]);
    }
    for name in names {
        let means: Vec<Option<f64>> = pools
            .values()
            .map(|pool| {
                let values: Vec<f64> = pool
                    .iter()
                    .filter_map(|f| f.get(name))
                    .map(|p| p.0)
                    .collect();
                (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
            })
            .collect();
        let (cells, has_best) = marked_cells(name, &means);
        marked |= has_best;
        row(&format!("  {name}"), cells);
    }
    for column in 1..=pools.len() {
        table.align_right(column);
    }
    table.write(out)?;
    if marked {
        writeln!(
            out,
            "\n* the best mean of a row: lowest for loss- and error-like names, highest for accuracy- and score-like ones"
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_grouped_by_a_tag_or_their_group() {
        assert_eq!("group".parse(), Ok(GroupBy::Group));
        assert_eq!(
            "tag:optimizer".parse(),
            Ok(GroupBy::Tag("optimizer".into()))
        );
        assert!("tag:".parse::<GroupBy>().unwrap_err().contains("`tag:KEY`"));
        assert!("optimizer".parse::<GroupBy>().is_err());
    }
}
