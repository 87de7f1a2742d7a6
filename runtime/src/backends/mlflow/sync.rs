//! `labbook sync`: uploads local runs (finished, failed or crashed) to an MLflow server,
//! the way home for runs from compute nodes without network. Running it again sends only
//! what the server does not hold yet, so it is safe to repeat and to interrupt.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::engine::{Engine, Pass};
use super::local::{self, LocalRun};
use super::{MlflowError, Settings};
use crate::store::layout;
use crate::store::meta::Status;
use crate::store::read::State;

/// What `sync` did, run by run.
#[derive(Debug)]
pub struct SyncReport {
    /// Each run found, in the order they were uploaded.
    pub runs: Vec<RunSync>,
}

/// One run's upload.
#[derive(Debug)]
pub struct RunSync {
    /// The run directory.
    pub dir: PathBuf,
    /// `experiment/id`, or the directory when it is not a readable run.
    pub label: String,
    /// What happened.
    pub outcome: SyncOutcome,
}

/// How one run's upload went.
#[derive(Debug)]
#[non_exhaustive]
pub enum SyncOutcome {
    /// The server now holds the whole run; `points`, `params` and `files` were sent now
    /// (all zero when it held everything already).
    Synced {
        /// The MLflow run id.
        run_id: String,
        /// The MLflow status the run was left in (`FINISHED`, `FAILED`, `KILLED`, `RUNNING`).
        status: String,
        /// Metric points sent now.
        points: u64,
        /// Params sent now.
        params: u64,
        /// Files sent now.
        files: u64,
        /// Keys MLflow will never accept, with the reason: not uploaded.
        rejected: Vec<(String, String)>,
        /// Things worth knowing (a crashed run marked KILLED, a long param cut).
        notes: Vec<String>,
    },
    /// Not uploaded, and why (still running in a live process).
    Skipped(String),
    /// The upload stopped; running `sync` again continues it.
    Failed(MlflowError),
}

impl SyncReport {
    /// Whether no run failed.
    pub fn is_success(&self) -> bool {
        !self
            .runs
            .iter()
            .any(|r| matches!(r.outcome, SyncOutcome::Failed(_)))
    }
}

/// Tries a failing server gets before a run is reported failed.
const TRIES: u32 = 3;

/// Uploads each run directory in `runs` to the server in `settings`.
pub fn sync(runs: &[PathBuf], settings: &Settings) -> SyncReport {
    SyncReport {
        runs: runs.iter().map(|dir| sync_one(dir, settings)).collect(),
    }
}

fn sync_one(dir: &Path, settings: &Settings) -> RunSync {
    let run = match LocalRun::load(dir) {
        Ok(run) => run,
        Err(e) => {
            return RunSync {
                dir: dir.to_owned(),
                label: dir.display().to_string(),
                outcome: SyncOutcome::Failed(e.into()),
            }
        }
    };
    let label = run.label();
    let outcome = match ending(&run) {
        Err(reason) => SyncOutcome::Skipped(reason),
        Ok((status, end_time, note)) => upload(run, settings, status, end_time, note),
    };
    RunSync {
        dir: dir.to_owned(),
        label,
        outcome,
    }
}

fn upload(
    run: LocalRun,
    settings: &Settings,
    status: &'static str,
    end_time: i64,
    note: Option<String>,
) -> SyncOutcome {
    let mut engine = match Engine::open(settings, run) {
        Ok(engine) => engine,
        Err(e) => return SyncOutcome::Failed(e),
    };
    let pass = Pass {
        files: true,
        streams: true,
        end: Some((status, end_time)),
    };
    let mut wait = Duration::from_secs(1);
    let mut tries = 0;
    let mut sent = (0, 0, 0);
    let mut notes: Vec<String> = note.into_iter().collect();
    loop {
        tries += 1;
        let result = engine.pass(pass);
        let done = engine.take_done();
        sent = (
            sent.0 + done.points,
            sent.1 + done.params,
            sent.2 + done.files,
        );
        notes.extend(done.notes);
        match result {
            Ok(()) => {
                let state = &engine.state;
                return SyncOutcome::Synced {
                    run_id: state.run_id.clone().unwrap_or_default(),
                    status: status.to_owned(),
                    points: sent.0,
                    params: sent.1,
                    files: sent.2,
                    rejected: state.rejected.clone().into_iter().collect(),
                    notes,
                };
            }
            Err(e) if e.is_retryable() && tries < TRIES => {
                std::thread::sleep(wait);
                wait *= 2;
            }
            Err(e) => {
                engine.state.last_error = Some(e.to_string());
                engine.state.synced = false;
                let _ = engine.save();
                return SyncOutcome::Failed(e);
            }
        }
    }
}

/// The MLflow status and end time (ms) of a run, or why it is not uploaded now.
fn ending(run: &LocalRun) -> Result<(&'static str, i64, Option<String>), String> {
    let info = &run.info;
    if info.status != Status::Running {
        let end = info.end_unix.unwrap_or_else(|| last_activity(run));
        return Ok((
            local::mlflow_status(info.status, info.error.as_deref()),
            local::millis(end),
            None,
        ));
    }
    // A run on another host counts as running there: it cannot be checked from here.
    let here = gethostname::gethostname().to_string_lossy() == info.host.as_str();
    if here && run.run_dir().state_of(info) == State::Running {
        return Err(format!("still running (pid {} on this host)", info.pid));
    }
    let note = format!(
        "it was still RUNNING when its process on {} stopped (crashed or killed): marked KILLED; sync again if it is in fact still going",
        info.host
    );
    Ok(("KILLED", local::millis(last_activity(run)), Some(note)))
}

/// The newest modification time of the run's streams and metadata, in seconds (links left
/// out, never followed).
fn last_activity(run: &LocalRun) -> f64 {
    let run = run.run_dir();
    [layout::METRICS, layout::METADATA]
        .into_iter()
        .flat_map(|folder| run.files(folder))
        .filter_map(|file| file.modified())
        .filter_map(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .fold(0.0_f64, |newest, t| newest.max(t.as_secs_f64()))
}

impl fmt::Display for RunSync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.label)?;
        match &self.outcome {
            SyncOutcome::Synced {
                run_id,
                status,
                points,
                params,
                files,
                rejected,
                notes,
            } => {
                if points + params + files == 0 {
                    write!(f, "up to date (MLflow run {run_id}, {status})")?;
                } else {
                    write!(
                        f,
                        "sent {points} points, {params} params, {files} files (MLflow run {run_id}, {status})"
                    )?;
                }
                for note in notes {
                    write!(f, "\n  note: {note}")?;
                }
                for (key, reason) in rejected {
                    let (kind, name) = key.split_once(' ').unwrap_or(("", key));
                    write!(f, "\n  not uploaded: {kind} `{name}`: {reason}")?;
                }
                Ok(())
            }
            SyncOutcome::Skipped(reason) => write!(f, "skipped: {reason}"),
            SyncOutcome::Failed(e) => {
                write!(f, "failed: {e}; run `labbook sync` again to continue")
            }
        }
    }
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for run in &self.runs {
            writeln!(f, "{run}")?;
        }
        Ok(())
    }
}
