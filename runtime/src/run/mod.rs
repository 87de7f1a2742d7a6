//! A run: one call of an `#[experiment]` function. [`Experiment`] starts and ends it for the
//! generated code; [`Run`] is the handle users get from [`run()`](crate::run()).

mod active;
mod code;
mod experiment;
mod info;
mod interrupt;
mod machine;
mod program;
mod reproducibility;
mod sampling;
mod spec;
mod tags;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

pub use self::active::{run, Entered};
pub use self::experiment::{Experiment, Outcome};
pub use self::spec::{ExperimentSpec, Program, Sampling};
use crate::store::meta::{Info, Status};

use crate::backend::RunEnd;
use crate::checkpoint::{Restore, Resume};
use crate::error::{Error, Result};
use crate::gate::Ranks;
use crate::kinds::{Metric, Param, Text};
use crate::name::Name;
use crate::problems::ProblemLog;
use crate::record::{now, Record, Value};
use crate::writer::Writer;

/// The state of a live run that log sites hand records to.
#[doc(hidden)]
pub struct RunState {
    experiment: String,
    id: u64,
    /// What the run continues from when it was resumed.
    resume: Option<Resume>,
    dir: PathBuf,
    rank: u32,
    world_size: u32,
    writer: Writer,
    ended: AtomicBool,
    /// Set once the run directory and `info.json` are final (remote backends may still run).
    saved: AtomicBool,
    /// `metadata/info.json` as this rank will write it at the end.
    info: Mutex<Info>,
    /// What could not be stored or sent, shared with the writer and the backends.
    problems: ProblemLog,
    /// The system-metrics sampler, while it runs.
    system: Mutex<Option<crate::system::Sampler>>,
}

impl std::fmt::Debug for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunState")
            .field("experiment", &self.experiment)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// How long the end of a run waits for the backends other than the local store to finish:
/// `LABBOOK_FINISH_TIMEOUT` seconds, 70 by default (MLflow's own retries fit in it).
fn finish_wait() -> std::time::Duration {
    let secs = std::env::var("LABBOOK_FINISH_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(70.0);
    std::time::Duration::from_secs_f64(secs)
}

impl RunState {
    fn write_info(&self, info: &Info) {
        if let Err(e) = info::write_info(&self.dir, info) {
            tracing::error!(
                "labbook could not record the end of run {}: {e}",
                self.label()
            );
        }
    }

    #[inline]
    pub(crate) fn push(&self, name: Name, step: u64, value: Value) {
        self.writer.push(Record {
            name,
            step,
            time: now(),
            value,
        });
    }

    pub(crate) fn rank(&self) -> u32 {
        self.rank
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn label(&self) -> String {
        format!("{}/{}", self.experiment, self.id)
    }

    /// Where log sites count what they could not record.
    pub(crate) fn problems(&self) -> &ProblemLog {
        &self.problems
    }

    pub(crate) fn resume(&self) -> Option<&Resume> {
        self.resume.as_ref()
    }

    /// Whether the run directory and `info.json` hold the end of the run.
    pub(crate) fn saved(&self) -> bool {
        self.saved.load(Ordering::Acquire)
    }

    /// Stops the writer thread as a bug in it would (fault injection).
    pub(crate) fn crash_writer(&self) {
        self.writer.crash();
    }

    /// Records an early stop's decision in `info.json`, now and at the end.
    pub(crate) fn stopped_early(&self, decision: crate::store::meta::StoppedEarly) {
        tracing::info!(
            "labbook run {} stopped early at step {}: {}",
            self.label(),
            decision.step,
            decision.reason
        );
        let mut info = self.info.lock().unwrap_or_else(|e| e.into_inner());
        info.stopped_early = Some(decision);
        self.write_info(&info);
    }

    /// Waits until every record pushed so far is in the run directory.
    pub(crate) fn flush(&self) {
        self.writer.flush(false);
    }

    /// Writes this rank's summary of its metrics for its end at `end`, before `info.json`
    /// says the run ended (`store::summary`). It is a cache of the streams: one that cannot
    /// be written is left out, and readers read the streams instead.
    fn write_summary(&self, end: f64) {
        let dir = crate::store::read::RunDir::at(&self.dir);
        if let Some(metrics) = dir.summary_of_rank(self.rank) {
            let summary = crate::store::summary::Summary {
                rank: self.rank,
                end_unix: end,
                metrics,
            };
            if let Err(e) = summary.write(&self.dir) {
                tracing::debug!("no summary for run {}: {e}", self.label());
            }
        }
    }

    /// Ends the run once: every queued record reaches every backend, then the status is
    /// written. Later calls (the body returning after an interrupt ended it) do nothing.
    pub(crate) fn end(&self, status: Status, error: Option<String>) {
        if self.ended.swap(true, Ordering::AcqRel) {
            return;
        }
        let end = RunEnd {
            status,
            error: error.clone(),
            time: now(),
        };
        // The sampler's last sample is queued before the writer drains.
        let sampler = self.system.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(sampler) = sampler {
            sampler.stop();
        }
        // The run directory and `info.json` are final before any wait on the network.
        self.writer.finish(end.clone());
        self.write_summary(end.time);
        let mut info = self.info.lock().unwrap_or_else(|e| e.into_inner());
        tags::adopt_edits(&self.dir, &mut info);
        info.end(status, error, end.time);
        info.queue_blocked_s = self.writer.blocked().as_secs_f64();
        info.problems = self.problems.snapshot();
        self.write_info(&info);
        self.saved.store(true, Ordering::Release);
        self.writer.wait_backends(finish_wait());
        let problems = self.problems.snapshot();
        if problems != info.problems {
            info.problems = problems;
            self.write_info(&info);
        }
        if !info.problems.is_empty() {
            tracing::warn!(
                "labbook run {} ended {} with problems ({}); see metadata/info.json:\n  {}",
                self.label(),
                status.as_str(),
                info.problems.summary(),
                info.problems.lines().join("\n  ")
            );
        }
        crate::diagnostics::close_run_log(&self.dir);
        active::leave(self);
    }
}

/// A handle on the active run, for logging from code outside the `#[experiment]` body.
///
/// Manual logging goes through the same rank gate as `#[log]` sites: by default only
/// rank 0 records; [`Run::on_ranks`] widens it.
///
/// ```
/// use labbook::prelude::*;
///
/// fn evaluate(step: u64) -> labbook::Result<()> {
///     run().log_metric("eval/acc", step, 0.93)
/// }
///
/// #[experiment]
/// fn train() -> labbook::Result<()> {
///     evaluate(0)
/// }
/// # std::env::set_var("LABBOOK_DIR", std::env::temp_dir().join("labbook-doc"));
/// # std::env::set_var("LABBOOK_CONSOLE", "off");
/// train().unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct Run {
    state: Option<std::sync::Arc<RunState>>,
    ranks: Ranks,
}

impl Run {
    /// Whether a run was active when this handle was taken.
    pub fn is_active(&self) -> bool {
        self.state
            .as_ref()
            .is_some_and(|s| !s.ended.load(Ordering::Relaxed))
    }

    /// `experiment/id`, e.g. `mnist/3`.
    pub fn label(&self) -> Option<String> {
        self.state
            .as_ref()
            .map(|s| format!("{}/{}", s.experiment, s.id))
    }

    /// The run's number within its experiment.
    pub fn id(&self) -> Option<u64> {
        self.state.as_ref().map(|s| s.id)
    }

    /// The run directory, shared by every rank of the job.
    pub fn dir(&self) -> Option<&Path> {
        self.state.as_ref().map(|s| s.dir.as_path())
    }

    /// This process's rank (0 outside a distributed job).
    pub fn rank(&self) -> u32 {
        self.state.as_ref().map_or(0, |s| s.rank)
    }

    /// How many ranks the job has (1 outside a distributed job).
    pub fn world_size(&self) -> u32 {
        self.state.as_ref().map_or(1, |s| s.world_size)
    }

    /// The same handle, logging on `ranks` (e.g. `Ranks::All`) instead of rank 0 only.
    pub fn on_ranks(mut self, ranks: Ranks) -> Run {
        self.ranks = ranks;
        self
    }

    /// Records a metric point.
    pub fn log_metric(&self, name: &str, step: u64, value: impl Metric) -> Result<()> {
        self.log(name, step, || Ok(Value::Scalar(value.to_f64())))
    }

    /// Records a text.
    pub fn log_text(&self, name: &str, step: u64, text: impl Text) -> Result<()> {
        self.log(name, step, || Ok(Value::Text(text.to_text())))
    }

    /// Records a param (a setting, logged once under its name).
    pub fn log_param(&self, name: &str, value: impl Param) -> Result<()> {
        self.log(name, 0, || {
            value
                .to_json()
                .map(|json| Value::Param(crate::redact::param(name, json)))
                .map_err(|e| Error::InvalidValue {
                    name: name.into(),
                    reason: e.to_string(),
                })
        })
    }

    /// Loads the checkpoint a resumed run continues from into `value` and returns its step;
    /// `None` when the run was not resumed (or the site had not saved yet). With several
    /// checkpoint sites, this loads the one whose format `value` has (`.json` or
    /// `.safetensors`) when exactly one site saves that format, and is an error naming the
    /// sites otherwise: use [`Run::restore_named`].
    ///
    /// ```no_run
    /// # use labbook::prelude::*;
    /// # #[derive(Serialize, Deserialize, Default)] struct Model { w: Vec<f32> }
    /// # fn build() -> Model { Model::default() }
    /// #[experiment(resume = resume)]
    /// fn train(resume: Option<u64>) -> labbook::Result<()> {
    ///     let mut model = build();
    ///     let first_epoch = run().restore(&mut model)?.map_or(0, |epoch| epoch + 1);
    ///     for epoch in first_epoch..10 {
    ///         // ... train one epoch ...
    ///         #[log(checkpoint, keep = 3, step = epoch)]
    ///         &model;
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn restore<F, T: Restore<F> + ?Sized>(&self, value: &mut T) -> Result<Option<u64>> {
        self.restore_site(None, value)
    }

    /// Loads the checkpoint of the site named `site` (`#[log(checkpoint, name = "optimizer")]`,
    /// or the expression's name: `&opt` saves as `opt`) into `value` and returns its step.
    /// Every site's checkpoint comes from the same moment of the run: the one it continues
    /// from.
    ///
    /// ```no_run
    /// # use labbook::prelude::*;
    /// # #[derive(Serialize, Deserialize, Default)] struct Model { w: Vec<f32> }
    /// #[experiment(resume = resume)]
    /// fn train(resume: Option<u64>) -> labbook::Result<()> {
    ///     let (mut model, mut optimizer) = (Model::default(), Model::default());
    ///     let first_epoch = run().restore_named("model", &mut model)?.map_or(0, |e| e + 1);
    ///     run().restore_named("optimizer", &mut optimizer)?;
    ///     for epoch in first_epoch..10 {
    ///         // ... train one epoch ...
    ///         #[log(checkpoint, name = "model", step = epoch)]
    ///         &model;
    ///         #[log(checkpoint, name = "optimizer", step = epoch)]
    ///         &optimizer;
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn restore_named<F, T: Restore<F> + ?Sized>(
        &self,
        site: &str,
        value: &mut T,
    ) -> Result<Option<u64>> {
        self.restore_site(Some(site), value)
    }

    /// Loads the best checkpoint saved so far into `value` and returns its step: that of the
    /// site that keeps its best by a metric (`#[log(checkpoint, best = "test_acc", mode =
    /// max)]`, see `checkpoints/<site>/best.<ext>`) and saves `value`'s format; `None` before
    /// it has saved one. The file must match the size and checksum its sidecar recorded.
    ///
    /// ```no_run
    /// # use labbook::prelude::*;
    /// # #[derive(Serialize, Deserialize, Default)] struct Model { w: Vec<f32> }
    /// # fn accuracy(_: &Model) -> f64 { 0.5 }
    /// #[experiment]
    /// fn train() -> labbook::Result<Model> {
    ///     let mut model = Model::default();
    ///     for epoch in 0..10u64 {
    ///         // ... train one epoch ...
    ///         #[log(metric, step = epoch)]
    ///         let test_acc = accuracy(&model);
    ///         #[log(checkpoint, keep = 2, best = "test_acc", mode = max, step = epoch)]
    ///         &model;
    ///     }
    ///     run().restore_best(&mut model)?;
    ///     Ok(model)
    /// }
    /// ```
    pub fn restore_best<F, T: Restore<F> + ?Sized>(&self, value: &mut T) -> Result<Option<u64>> {
        let state = self.live()?;
        crate::checkpoint::restore_best(&state.dir, state.rank, value)
    }

    fn restore_site<F, T: Restore<F> + ?Sized>(
        &self,
        site: Option<&str>,
        value: &mut T,
    ) -> Result<Option<u64>> {
        let state = self.live()?;
        let Some(resume) = &state.resume else {
            return Ok(None);
        };
        let Some((path, step)) = resume.checkpoint(site, T::EXTENSION)? else {
            return Ok(None);
        };
        value.load(&path).map_err(|reason| Error::Corrupt {
            path,
            line: 0,
            reason,
        })?;
        Ok(Some(step))
    }

    /// Waits until everything logged so far has reached every backend.
    pub fn flush(&self) -> Result<()> {
        self.live()?.writer.flush(true);
        Ok(())
    }

    pub(crate) fn state(&self) -> Option<&RunState> {
        self.state.as_deref()
    }

    fn live(&self) -> Result<&RunState> {
        let state = self.state.as_deref().ok_or(Error::NoActiveRun)?;
        if state.ended.load(Ordering::Relaxed) {
            return Err(Error::RunEnded(format!(
                "{}/{}",
                state.experiment, state.id
            )));
        }
        Ok(state)
    }

    fn log(&self, name: &str, step: u64, value: impl FnOnce() -> Result<Value>) -> Result<()> {
        let state = self.live()?;
        let name = Name::new(name)?;
        if self.ranks.contains(state.rank) {
            state.push(name, step, value()?);
        }
        Ok(())
    }
}
