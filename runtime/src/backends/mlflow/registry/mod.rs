//! The MLflow model registry: [`register`] (`labbook register`) makes a checkpoint of a run a
//! version of a registered model, [`models`] (`labbook models ls`) lists them.
//!
//! Registering picks the checkpoint in the run directory (best, last or a step: `choice.rs`),
//! uploads the run with [`sync`](super::sync) (only what the server lacks, so a run that
//! never reached the server is sent first), and makes sure the server holds the checkpoint
//! with its size among the run's artifacts. It then creates the registered model when it is
//! missing and a version whose source is the checkpoint's artifact URI (the run's
//! `artifact_uri` and the file's path in the run, as `mlflow.register_model` stores it:
//! `mlflow-artifacts:/…` through the proxy, `s3://…` in the object store), made by the run,
//! tagged with the labbook run (`labbook.run`), the checkpoint (`labbook.checkpoint`,
//! `labbook.checkpoint.step`, and `labbook.checkpoint.score` for a best one) and the run's
//! final metric values (`metric.<name>`). A version of the same model from the same MLflow
//! run and source is looked for first and returned instead: registering twice makes one
//! version.

mod api;
mod choice;

pub use self::api::{ModelVersion, RegisteredModel};
pub use self::choice::{Choice, Chosen};

use std::fmt;
use std::path::Path;

use super::client::Client;
use super::local::{self, LocalRun};
use super::sync::{sync, SyncOutcome};
use super::{MlflowError, Settings, SyncState};

/// Why a run's checkpoint was not registered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The run has no such checkpoint, or the server does not hold it.
    #[error("cannot register {run}: {reason}")]
    Refused {
        /// `experiment/id`.
        run: String,
        /// What is wrong and what to do, in one sentence.
        reason: String,
    },
    /// The server refused or did not answer.
    #[error(transparent)]
    Mlflow(#[from] MlflowError),
    /// The run directory could not be read.
    #[error(transparent)]
    Local(#[from] crate::error::Error),
}

/// A registered checkpoint: the model version, and whether this call created it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Registered {
    /// The labbook run: `experiment/id`.
    pub run: String,
    /// The checkpoint registered.
    pub checkpoint: Chosen,
    /// The model version.
    pub version: ModelVersion,
    /// `false` when the version existed already (it was registered before).
    pub created: bool,
}

/// Tries a server that does not answer, or answers that it is busy, gets.
const TRIES: u32 = 3;

/// Registers checkpoint `choice` of the run in `dir` (of checkpoint site `site`, needed when
/// several sites have one) as a version of model `name` on the server in `settings`: see
/// the module documentation. A server that drops a request or is busy is asked again, up to
/// three times: a version whose creation was not answered is then found, not made twice.
pub fn register(
    dir: &Path,
    settings: &Settings,
    name: &str,
    choice: Choice,
    site: Option<&str>,
) -> Result<Registered, RegistryError> {
    let mut wait = std::time::Duration::from_secs(1);
    let mut tries = 0;
    loop {
        tries += 1;
        match register_once(dir, settings, name, choice, site) {
            Err(RegistryError::Mlflow(e)) if e.is_retryable() && tries < TRIES => {
                std::thread::sleep(wait);
                wait *= 2;
            }
            result => return result,
        }
    }
}

fn register_once(
    dir: &Path,
    settings: &Settings,
    name: &str,
    choice: Choice,
    site: Option<&str>,
) -> Result<Registered, RegistryError> {
    let run = LocalRun::load(dir)?;
    let label = run.label();
    let refused = |reason: String| RegistryError::Refused {
        run: label.clone(),
        reason,
    };
    if name.trim().is_empty() {
        return Err(refused("the model name is empty; pass --name NAME".into()));
    }
    let checkpoint = choice::choose(dir, choice, site).map_err(refused)?;
    let mut skipped = None;
    match sync(&[dir.to_owned()], settings)
        .runs
        .pop()
        .map(|r| r.outcome)
    {
        Some(SyncOutcome::Failed(e)) => return Err(e.into()),
        Some(SyncOutcome::Skipped(reason)) => skipped = Some(reason),
        _ => {}
    }
    let state = SyncState::load(dir, &settings.tracking_uri);
    let Some(run_id) = state.run_id.clone() else {
        return Err(refused(format!(
            "it is not on the MLflow server yet ({}); register it once it has ended",
            skipped.unwrap_or_else(|| "the upload did not start".into())
        )));
    };
    let client = Client::new(settings)?;
    let artifact_uri = api::artifact_uri(&client, &run_id)?;
    let recorded = state
        .artifacts
        .get(&checkpoint.file)
        .is_some_and(|stamp| stamp.len == checkpoint.size);
    if !recorded && api::artifact_size(&client, &run_id, &checkpoint.file)? != Some(checkpoint.size)
    {
        return Err(refused(not_uploaded(
            &state,
            &checkpoint.file,
            &artifact_uri,
        )));
    }
    let source = format!("{}/{}", artifact_uri.trim_end_matches('/'), checkpoint.file);
    let existing = api::versions_of_run(&client, &run_id)?
        .into_iter()
        .find(|v| v.name == name && v.source == source);
    if let Some(version) = existing {
        return Ok(Registered {
            run: label,
            checkpoint,
            version,
            created: false,
        });
    }
    api::create_model(&client, name)?;
    let tags = tags(&run, &checkpoint);
    let version = api::create_version(&client, name, &source, &run_id, &tags)?;
    Ok(Registered {
        run: label,
        checkpoint,
        version,
        created: true,
    })
}

/// The registered models on the server in `settings` (`name` alone when given; none when
/// it does not exist) with their versions, newest first.
pub fn models(
    settings: &Settings,
    name: Option<&str>,
) -> Result<Vec<RegisteredModel>, MlflowError> {
    api::models(&Client::new(settings)?, name)
}

/// Why the server does not hold the checkpoint, and what to do.
fn not_uploaded(state: &SyncState, file: &str, artifact_uri: &str) -> String {
    if let Some(reason) = state.rejected.get(&format!("file {file}")) {
        return format!("the MLflow server refused its checkpoint {file}: {reason}");
    }
    if state.artifact_root.is_none() {
        return format!(
            "its checkpoint {file} is not among the run's artifacts at {artifact_uri}: the MLflow server does not proxy artifacts and labbook could not upload it there (start the server with --serve-artifacts, or see the README's MLflow at team scale)"
        );
    }
    format!(
        "its checkpoint {file} is not among the run's artifacts on the MLflow server yet; run `labbook sync` and register again"
    )
}

/// The version's tags: the labbook run, the checkpoint, the run's final metric values.
fn tags(run: &LocalRun, checkpoint: &Chosen) -> Vec<(String, String)> {
    let mut tags = vec![
        ("labbook.run".to_owned(), run.label()),
        ("labbook.checkpoint".to_owned(), checkpoint.file.clone()),
        (
            "labbook.checkpoint.step".to_owned(),
            checkpoint.step.to_string(),
        ),
    ];
    if let Some(score) = &checkpoint.score {
        if let Some(value) = score.value {
            tags.push((
                "labbook.checkpoint.score".to_owned(),
                format!(
                    "{} = {} ({})",
                    score.metric,
                    number(value),
                    score.mode.as_str()
                ),
            ));
        }
    }
    let last = run.run_dir().last_points(&run.info, |_| true);
    for (key, point) in last.points {
        let key = format!("metric.{key}");
        if local::check_key(&key).is_ok() {
            tags.push((key, number(point.value)));
        }
    }
    tags
}

/// A value as a tag holds it: the shortest text that reads back the same.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        value.to_string()
    }
}

impl fmt::Display for Registered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let version = &self.version;
        let what = if self.created {
            "registered as"
        } else {
            "already registered as"
        };
        write!(
            f,
            "{}: {what} version {} of model `{}` (checkpoint {}, step {}; MLflow run {}; source {})",
            self.run,
            version.version,
            version.name,
            self.checkpoint.file,
            self.checkpoint.step,
            version.run_id,
            version.source
        )
    }
}
