//! The `labbook` command: lists, shows, compares, plots, exports, follows and removes the runs
//! of the local store (`LABBOOK_DIR`, default `./runs`), reading them through
//! [`labbook::store::read`]; with the feature `mlflow` (on by default), `sync` uploads them to
//! an MLflow server, `register` makes a run's checkpoint a version of a registered model and
//! `models ls` lists them; `sweep` runs hyper-parameter searches whose trials are runs of the
//! store.
//! `cargo install --path cli` puts `labbook` on the `PATH`.
//!
//! A `RUN` argument is `experiment/id`, `experiment` (its latest run) or the path of a run
//! directory. Errors are one sentence; a torn last line of a stream (a killed run) is skipped
//! with a warning.

mod compare;
mod export;
mod finals;
mod gc;
mod group_by;
mod ls;
#[cfg(feature = "mlflow")]
mod models;
mod parallel;
mod plot;
#[cfg(feature = "mlflow")]
mod register;
mod reproduce;
mod show;
mod store;
#[cfg(unix)]
mod sweep;
#[cfg(feature = "mlflow")]
mod sync;
mod table;
mod tag;
mod watch;

use std::ffi::OsString;
use std::fmt::Display;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use labbook::store::read::Store;

/// Lists, compares and plots the runs that `#[experiment]` functions recorded.
#[derive(Debug, Parser)]
#[command(name = "labbook", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    /// The run store [default: $LABBOOK_DIR, or ./runs].
    #[arg(long, global = true, value_name = "DIR")]
    dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// One variant a subcommand; each lives in its own module with its `Args` and `run`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// A table of runs: status, start, duration, host, config keys, last value of each metric.
    Ls(ls::Args),
    /// Everything about one run: info, config, params, metrics, artifacts, checkpoints.
    Show(show::Args),
    /// Runs side by side: the config keys that differ and the final metrics, best marked.
    Compare(compare::Args),
    /// Draws metrics of runs as lines (histograms as heat maps) into a PNG or SVG file.
    Plot(plot::Args),
    /// Writes metric points as CSV or JSON lines: run, metric, step, value, time.
    Export(export::Args),
    /// Adds or removes a run's tags (`key=value`, `--remove key`) or sets its group, in its info.json.
    Tag(tag::TagArgs),
    /// Sets a run's notes (free text) in its info.json.
    Note(tag::NoteArgs),
    /// Follows a live run: latest values, rate and status, until it ends.
    Watch(watch::Args),
    /// Removes all but the newest runs of each experiment.
    Gc(gc::GcArgs),
    /// Removes runs.
    Rm(gc::RmArgs),
    /// Uploads runs (finished, failed or crashed) to an MLflow server; safe to repeat.
    #[cfg(feature = "mlflow")]
    Sync(sync::Args),
    /// Makes a run's checkpoint (best, last or a step) a version of a model in MLflow's registry.
    #[cfg(feature = "mlflow")]
    Register(register::Args),
    /// The registered models of an MLflow server and their versions: `labbook models ls`.
    #[cfg(feature = "mlflow")]
    Models(models::Args),
    /// Hyper-parameter sweeps: runs trials (grid, random, TPE), resumes, writes SLURM arrays.
    #[cfg(unix)]
    Sweep(sweep::Args),
}

/// Runs the command with the process's arguments; errors go to stderr as `error: …`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = io::stdout().lock();
    match execute(cli, &mut out).and_then(|()| Ok(out.flush()?)) {
        Ok(()) => ExitCode::SUCCESS,
        // `labbook ls | head`: the reader has seen enough.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        // A usage error found after parsing (`compare` with one run) reads as clap's own.
        Err(e) if e.is::<clap::Error>() => {
            let usage = e.downcast::<clap::Error>().expect("checked above");
            let _ = usage.print();
            ExitCode::from(u8::try_from(usage.exit_code()).unwrap_or(2))
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the command with `args` (the first is the program name), writing to `out`.
pub fn run<I, T>(args: I, out: &mut dyn Write) -> Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    execute(Cli::try_parse_from(args)?, out)
}

fn execute(cli: Cli, out: &mut dyn Write) -> Result<()> {
    let store = Store::at(cli.dir.unwrap_or_else(labbook::store::dir));
    match &cli.command {
        Command::Ls(args) => ls::run(&store, args, out),
        Command::Show(args) => show::run(&store, args, out),
        Command::Compare(args) => compare::run(&store, args, out),
        Command::Plot(args) => plot::run(&store, args, out),
        Command::Export(args) => export::run(&store, args, out),
        Command::Tag(args) => tag::tag(&store, args, out),
        Command::Note(args) => tag::note(&store, args, out),
        Command::Watch(args) => watch::run(&store, args, out),
        Command::Gc(args) => gc::gc(&store, args, out),
        Command::Rm(args) => gc::rm(&store, args, out),
        #[cfg(feature = "mlflow")]
        Command::Sync(args) => sync::run(&store, args, out),
        #[cfg(feature = "mlflow")]
        Command::Register(args) => register::run(&store, args, out),
        #[cfg(feature = "mlflow")]
        Command::Models(args) => models::run(args, out),
        #[cfg(unix)]
        Command::Sweep(args) => sweep::run(&store, args, out),
    }
}

/// Prints `warning: …` on stderr.
pub(crate) fn warn(message: impl Display) {
    eprintln!("warning: {message}");
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .any(|e| e.kind() == io::ErrorKind::BrokenPipe)
}
