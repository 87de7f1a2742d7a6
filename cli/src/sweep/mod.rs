//! `labbook sweep`: hyper-parameter search over any `#[experiment]` program, offline, on one
//! machine or as a SLURM array, its state kept beside the runs (`<store>/.sweeps/<id>/`).
//!
//! - `run SPEC`: runs the trials, `parallel` at a time, with a live table; Ctrl-C stops them
//!   cleanly and running it again resumes (finished trials are not repeated).
//! - `slurm SPEC`: writes an `sbatch --array` script whose tasks each run `task SPEC`.
//! - `task SPEC`: runs the one trial `SLURM_ARRAY_TASK_ID` (or `--trial`) names.
//! - `show ID|SPEC`: the trials by metric, the best point as `LABBOOK_SET=…` and `--set`,
//!   and with `-o` a plot of the metric against each parameter and the best so far.
//!
//! A trial program gets its point in `LABBOOK_SET` (read by `labbook::config`), the sweep's
//! id in `LABBOOK_GROUP` and `sweep.trial=<n>` in `LABBOOK_TAGS`.

mod chart;
mod display;
mod median;
mod run;
mod show;
mod slurm;
mod space;
mod spec;
mod state;
mod tpe;
mod trial;

use std::io::{IsTerminal as _, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};

use labbook::store::read::Store;

use self::display::Display;
use self::spec::Spec;
use self::state::{Pick, Sweep};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Runs the sweep's trials, `parallel` at a time; run it again to resume.
    Run {
        /// The sweep spec (TOML).
        spec: PathBuf,
    },
    /// Writes an `sbatch --array` script that runs the sweep's trials as SLURM array tasks.
    Slurm(slurm::Args),
    /// Runs one trial: the one `SLURM_ARRAY_TASK_ID` names (or `--trial`).
    Task {
        /// The sweep spec (TOML).
        spec: PathBuf,
        /// The trial to run [default: $SLURM_ARRAY_TASK_ID].
        #[arg(long)]
        trial: Option<usize>,
    },
    /// The sweep's trials by metric, the best point, and a plot with `-o`.
    Show(show::Args),
}

pub(crate) fn run(store: &Store, args: &Args, out: &mut dyn Write) -> Result<()> {
    match &args.command {
        Command::Run { spec: path } => {
            let spec = Spec::load(path)?;
            let sweep = Sweep::open(store.path(), path, &spec)?;
            let live = std::io::stdout().is_terminal();
            let mut display = Display::new(out, live);
            display.line(format_args!(
                "sweep {}: {} trials, {} at a time (state in {})",
                sweep.id,
                spec.trial_count(),
                spec.parallel.get_ref(),
                sweep.dir.display()
            ))?;
            let outcome = run::trials(store, &spec, &sweep, Pick::Next, &mut display)?;
            show::summary(&spec, &sweep.read()?, out)?;
            run::resume_hint(outcome, &format!("labbook sweep run {}", path.display()))
        }
        Command::Slurm(args) => slurm::write(store, args, out),
        Command::Task { spec: path, trial } => {
            let trial = match trial {
                Some(trial) => *trial,
                None => std::env::var("SLURM_ARRAY_TASK_ID")
                    .ok()
                    .context(
                        "no trial to run: set SLURM_ARRAY_TASK_ID (as SLURM does) or pass --trial",
                    )?
                    .trim()
                    .parse()
                    .ok()
                    .context("SLURM_ARRAY_TASK_ID is no trial number: it is 0, 1, 2…")?,
            };
            let spec = Spec::load(path)?;
            let count = spec.trial_count();
            anyhow::ensure!(
                trial < count,
                "the sweep has trials 0 to {}; there is no trial {trial}",
                count - 1
            );
            let sweep = Sweep::open(store.path(), path, &spec)?;
            let mut display = Display::new(out, false);
            let outcome = run::trials(store, &spec, &sweep, Pick::Only(trial), &mut display)?;
            if !sweep
                .read()?
                .trials
                .iter()
                .any(|t| t.trial == trial && t.pid == std::process::id())
            {
                writeln!(
                    out,
                    "trial {trial} has run or is running elsewhere: nothing to do"
                )?;
            }
            run::resume_hint(outcome, &format!("labbook sweep task {}", path.display()))
        }
        Command::Show(args) => show::run(store, args, out),
    }
}
