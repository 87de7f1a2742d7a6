//! The `mlflow` backend: every run is mirrored to an MLflow tracking server while it trains,
//! and `labbook sync` uploads runs later from machines that had no network.
//!
//! It is on when `MLFLOW_TRACKING_URI` names an http(s) server, and reads the variables the
//! MLflow client reads: `MLFLOW_EXPERIMENT_NAME` (default: the labbook experiment's name),
//! `MLFLOW_TRACKING_USERNAME` and `MLFLOW_TRACKING_PASSWORD` (basic auth) or
//! `MLFLOW_TRACKING_TOKEN` (bearer), `MLFLOW_TRACKING_INSECURE_TLS`,
//! `MLFLOW_TRACKING_SERVER_CERT_PATH`. Credentials never reach a file, a log line or an error.
//!
//! What goes where: the run is named `experiment/id` and tagged with its labbook id, host,
//! rank, source file and git commit; the config becomes params with `a.b.c` keys, next to
//! the `param` sites; every metric point goes through `runs/log-batch` with its step and
//! time (NaN as NaN, infinities as ±f64::MAX); files, images, checkpoints and the text and
//! histogram streams become artifacts under the paths they have in the run directory; the
//! run ends `FINISHED`, `FAILED` or `KILLED` (interrupted).
//!
//! The training loop never waits on the network: a thread of its own uploads from the run
//! directory and records what the server confirmed in `metadata/mlflow.json`. When the
//! server is down the points wait in the run directory and are sent in order once it is back;
//! when the run ends first, [`sync`] (`labbook sync`) sends the rest later, exactly once.
//!
//! The end of a run waits for the last upload at most 60 s, or 5 s when the run was
//! interrupted (Ctrl-C allows 10 s in all); a server that takes the connection and never
//! answers holds it up no longer. The points the server is not known to hold then are
//! counted under `mlflow` in `info.json`'s `problems` (`labbook sync` sends them), and so
//! are the params and files it does not hold yet, what it refused for good (params,
//! metrics, files) and the files left out (below). Files that have nowhere to go (a server
//! that neither proxies artifacts nor names an object store labbook can write to) count
//! too, with what to change on the server.
//!
//! Symbolic links inside a run directory are never followed and special files never read:
//! they are left out of the upload, said once in the run's log and listed in
//! `metadata/mlflow.json` as refused. A stream rewritten under the upload (a resume rolls it
//! back to its checkpoint and logs new points) is noticed by the line the upload stopped at,
//! and continues after the last step the server holds.

mod artifacts;
mod client;
mod concurrency;
mod destination;
mod engine;
mod error;
mod local;
mod multipart;
mod parallel;
mod parts;
mod registry;
mod s3;
mod settings;
mod state;
mod sync;
mod tags;
mod upload;

pub use self::error::MlflowError;
pub use self::registry::{
    models, register, Choice, Chosen, ModelVersion, Registered, RegisteredModel, RegistryError,
};
pub use self::settings::{Auth, Settings};
pub use self::state::SyncState;
pub use self::sync::{sync, RunSync, SyncOutcome, SyncReport};

use std::path::PathBuf;

use crate::backend::{Backend, BackendError, RunContext, RunEnd};
use crate::problems::ProblemLog;
use crate::record::{Record, Value};

use self::engine::Engine;
use self::local::LocalRun;
use self::upload::{Message, Uploader, FINISH_TIMEOUT, INTERRUPTED_TIMEOUT};

/// The live mirror of one run.
#[derive(Debug)]
struct Mirror {
    uploader: Uploader,
    dir: PathBuf,
    tracking_uri: String,
    problems: ProblemLog,
}

impl Mirror {
    /// Counts, at the end of the run, the points, params and files the server is not known
    /// to hold and what it refused for good (a metric's points, a param, a file).
    fn count_unsent(&self, ended_in_time: bool, limit: std::time::Duration) {
        let state = SyncState::load(&self.dir, &self.tracking_uri);
        let why = why_unsent(&state, ended_in_time, limit);
        self.count_pending(&state, &why);
        if let Ok(run) = LocalRun::load(&self.dir) {
            let params = engine::unsent_params(&run, &state);
            self.count_missing("param(s)", &params, &why, &self.sync_hint());
            // Files with nowhere to go on this server: what to change there, not a sync.
            let files = engine::unsent_files(&run, &state);
            match destination::why_files_stay(&state) {
                Some(reason) => self.count_missing("file(s)", &files, &reason, ""),
                None => self.count_missing("file(s)", &files, &why, &self.sync_hint()),
            }
        }
        for (key, reason) in &state.rejected {
            let (kind, name) = key.split_once(' ').unwrap_or(("", key));
            let lost = engine::refused_records(&self.dir, kind, name);
            let why = if reason == engine::LEFT_OUT {
                reason.clone()
            } else {
                format!("the server will not take it ({reason})")
            };
            self.problems.backend(
                "mlflow",
                lost,
                format_args!(
                    "{kind} `{name}` is not on the MLflow server: {why}; the run directory has it"
                ),
            );
        }
    }

    fn count_pending(&self, state: &SyncState, why: &str) {
        let unsent = engine::unsent_points(&self.dir, state);
        if unsent == 0 {
            return;
        }
        self.problems.backend(
            "mlflow",
            unsent,
            format_args!(
                "{unsent} point(s) were not sent: {why}; they are in the run directory, send them with `labbook sync {}`",
                self.dir.display()
            ),
        );
    }

    /// `, send them with labbook sync DIR`.
    fn sync_hint(&self) -> String {
        format!(", send them with `labbook sync {}`", self.dir.display())
    }

    /// Counts `unsent` (the keys or paths of `what`) in the run's problems and says which,
    /// `why`, and `then` what to do, in the run's log.
    fn count_missing(&self, what: &str, unsent: &[String], why: &str, then: &str) {
        let Some(first) = unsent.first() else {
            return;
        };
        let count = unsent.len();
        let which = match count {
            1 => format!("`{first}`"),
            n => format!("`{first}` and {} more", n - 1),
        };
        let said = format!(
            "{count} {what} are not on the MLflow server ({which}): {why}; they are in the run directory{then}"
        );
        tracing::warn!("{said}");
        self.problems.backend("mlflow", count as u64, said);
    }
}

/// Why what is still in the run directory did not reach the server by the run's end.
fn why_unsent(state: &SyncState, ended_in_time: bool, limit: std::time::Duration) -> String {
    match (&state.last_error, ended_in_time) {
        (_, false) => format!(
            "the MLflow server did not finish the upload within {} s of the end of the run",
            limit.as_secs()
        ),
        (Some(error), true) => error.clone(),
        (None, true) => "the upload stopped early".to_owned(),
    }
}

impl Backend for Mirror {
    fn write(&mut self, batch: &[Record]) -> Result<(), BackendError> {
        let mut files = false;
        let mut tags = false;
        let mut params = Vec::new();
        for record in batch {
            match &record.value {
                Value::Param(value) => {
                    let text = match value {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    params.push((record.name.to_string(), text));
                }
                Value::Image(_) | Value::Checkpoint(_) | Value::Artifact(_) => files = true,
                Value::Tags(_) => tags = true,
                _ => {}
            }
        }
        self.uploader.send(Message::Logged {
            files,
            params,
            tags,
        });
        Ok(())
    }

    /// Waits for the last upload at most 60 s, 5 s for an interrupted run (see the module
    /// documentation), then counts what the server lacks in the run's problems.
    fn finish(&mut self, end: &RunEnd) -> Result<(), BackendError> {
        let status = local::mlflow_status(end.status, end.error.as_deref());
        let limit = if status == "KILLED" {
            INTERRUPTED_TIMEOUT
        } else {
            FINISH_TIMEOUT
        };
        let ended_in_time = self.uploader.end(status, local::millis(end.time), limit);
        self.count_unsent(ended_in_time, limit);
        Ok(())
    }
}

fn create(run: &RunContext) -> Result<Option<Box<dyn Backend>>, BackendError> {
    let Some(settings) = Settings::from_env().map_err(BackendError::new)? else {
        tracing::debug!("the mlflow backend is off: MLFLOW_TRACKING_URI is not set");
        return Ok(None);
    };
    if run.rank != 0 {
        tracing::debug!(
            "the mlflow backend mirrors rank 0 only; `labbook sync` uploads every rank's streams"
        );
        return Ok(None);
    }
    let local = LocalRun {
        dir: run.dir.clone(),
        info: run.info.clone(),
        config: run.config.clone(),
    };
    let engine = Engine::open(&settings, local).map_err(BackendError::new)?;
    let uploader = Uploader::spawn(engine).map_err(BackendError::from)?;
    Ok(Some(Box::new(Mirror {
        uploader,
        dir: run.dir.clone(),
        tracking_uri: settings.tracking_uri.clone(),
        problems: run.problems.clone(),
    })))
}

inventory::submit!(crate::backend::Registration::new("mlflow", create).in_module(module_path!()));
