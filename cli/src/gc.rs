//! `labbook gc --keep-last N` and `labbook rm RUN…`: remove run directories, after a
//! confirmation unless `--yes`. A run that may still be running is never removed by `gc`.

use std::fs;
use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context, Result};

use super::store::{self, Run};
use super::table::{self, Table};
use super::warn;
use labbook::store::read::{State, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct GcArgs {
    /// Only the runs of this experiment.
    experiment: Option<String>,
    /// How many of the newest runs of each experiment to keep.
    #[arg(long, value_name = "N")]
    keep_last: usize,
    /// Remove without asking.
    #[arg(short, long)]
    yes: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RmArgs {
    /// `experiment/id`, `experiment` (its latest run) or a run directory.
    #[arg(required = true)]
    runs: Vec<String>,
    /// Remove without asking.
    #[arg(short, long)]
    yes: bool,
    /// Remove runs that may still be running, too.
    #[arg(long)]
    force: bool,
}

pub(crate) fn gc(store: &Store, args: &GcArgs, out: &mut dyn Write) -> Result<()> {
    let mut runs: Vec<Run> = Vec::new();
    for dir in store::runs(store, args.experiment.as_deref())? {
        match Run::load(&dir) {
            Ok(run) => runs.push(run),
            Err(e) => warn(format_args!("skipped {}: {e:#}", dir.label())),
        }
    }
    // Runs come sorted by experiment, then id: the newest of each experiment are last.
    let mut doomed = Vec::new();
    let mut start = 0;
    while start < runs.len() {
        let experiment = &runs[start].info.experiment;
        let end = start
            + runs[start..]
                .iter()
                .take_while(|r| r.info.experiment == *experiment)
                .count();
        let old = (end - start).saturating_sub(args.keep_last);
        doomed.extend(
            runs[start..start + old]
                .iter()
                .filter(|r| r.state != State::Running),
        );
        start = end;
    }
    if doomed.is_empty() {
        writeln!(
            out,
            "nothing to remove: no experiment has more than {} finished runs to spare",
            args.keep_last
        )?;
        return Ok(());
    }
    remove(&doomed, args.yes, out)
}

pub(crate) fn rm(store: &Store, args: &RmArgs, out: &mut dyn Write) -> Result<()> {
    let mut runs = Vec::new();
    for arg in &args.runs {
        let run = Run::load(&store::resolve(store, arg)?)?;
        if run.state == State::Running && !args.force {
            bail!(
                "run {} may still be running (pid {} on {}); wait until it ends, or pass --force",
                run.label(),
                run.info.pid,
                run.info.host
            );
        }
        runs.push(run);
    }
    remove(&runs.iter().collect::<Vec<_>>(), args.yes, out)
}

fn remove(runs: &[&Run], yes: bool, out: &mut dyn Write) -> Result<()> {
    let sizes: Vec<u64> = runs.iter().map(|r| r.dir.size()).collect();
    let mut table = Table::new(["RUN", "STATUS", "STARTED (UTC)", "SIZE"]);
    table.align_right(3);
    for (run, size) in runs.iter().zip(&sizes) {
        table.push(vec![
            run.label().to_owned(),
            run.state.as_str().to_owned(),
            table::minute(run.info.start_unix),
            table::size(*size),
        ]);
    }
    table.write(out)?;
    let total = table::size(sizes.iter().sum());
    let what = match runs.len() {
        1 => "this run".to_owned(),
        n => format!("these {n} runs"),
    };
    if !yes {
        write!(out, "Remove {what} ({total})? [y/N] ")?;
        out.flush()?;
        let mut answer = String::new();
        let stdin = std::io::stdin();
        stdin.lock().read_line(&mut answer)?;
        if !stdin.is_terminal() {
            writeln!(out)?;
        }
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            writeln!(out, "nothing removed")?;
            return Ok(());
        }
    }
    for run in runs {
        fs::remove_dir_all(run.dir.path())
            .with_context(|| format!("cannot remove {}", run.dir.path().display()))?;
    }
    writeln!(
        out,
        "removed {} ({total})",
        what.replacen("these", "", 1).trim()
    )?;
    Ok(())
}
