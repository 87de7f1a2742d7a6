//! Starting and ending a run around the body of an `#[experiment]` function.

use std::any::Any;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::info::{Info, RankInfo, Status};
use super::{active, RunState};
use crate::backend::{self, RunContext, RunEnd};
use crate::gate::Ranks;
use crate::launcher;
use crate::record::now;
use crate::store::{alloc, layout};
use crate::writer::{Named, Writer};

/// What the macro knows about an experiment at compile time.
#[derive(Debug)]
pub struct ExperimentSpec {
    pub name: &'static str,
    pub function: &'static str,
    pub file: &'static str,
    pub ranks: Ranks,
}

/// How the body ended.
#[derive(Debug)]
pub enum Outcome {
    Complete,
    Failed(String),
}

/// A run in progress, owned by the generated code of one `#[experiment]` call.
#[derive(Debug)]
pub struct Experiment {
    state: Arc<RunState>,
    info: Info,
}

impl Experiment {
    /// Allocates the run directory, writes the metadata, starts the backends and the writer.
    ///
    /// # Panics
    ///
    /// When the run directory cannot be created: there would be nowhere to record anything.
    pub fn begin(spec: ExperimentSpec, config: Option<serde_json::Value>) -> Experiment {
        match Experiment::try_begin(&spec, config) {
            Ok(experiment) => experiment,
            Err(e) => panic!(
                "labbook cannot start a run of `{}`: {e}. Set LABBOOK_DIR to a writable directory.",
                spec.name
            ),
        }
    }

    fn try_begin(
        spec: &ExperimentSpec,
        config: Option<serde_json::Value>,
    ) -> crate::Result<Experiment> {
        crate::console::init_tracing();
        let start = now();
        let launch = launcher::detect();
        let experiment_dir = layout::root().join(spec.name);
        let (id, dir) = alloc::allocate(&experiment_dir, launch.job.as_deref())?;
        layout::create_run_folders(&dir)?;
        let mut info = Info::gather(spec.name, id, spec.function, spec.file, &launch, start);
        if launch.rank == 0 {
            if let Some(config) = &config {
                layout::write_json(
                    &dir.join(layout::METADATA).join(layout::CONFIG_FILE),
                    config,
                )?;
            }
        }
        let context = RunContext {
            experiment: spec.name.to_owned(),
            id,
            dir: dir.clone(),
            rank: launch.rank,
            world_size: launch.world_size,
            config,
            info: info.clone(),
        };
        let backends = start_backends(&context);
        info.backends = backends.iter().map(|b| b.name.to_owned()).collect();
        write_info(&dir, &info)?;
        let state = Arc::new(RunState {
            experiment: spec.name.to_owned(),
            id,
            dir,
            rank: launch.rank,
            world_size: launch.world_size,
            writer: Writer::spawn(backends),
            ended: Default::default(),
        });
        active::enter(&state);
        Ok(Experiment { state, info })
    }

    /// The state the generated log sites push to.
    #[inline]
    pub fn state(&self) -> &RunState {
        &self.state
    }

    /// Ends the run: every record reaches every backend, then the status is written.
    pub fn end(mut self, outcome: Outcome) {
        let (status, error) = match outcome {
            Outcome::Complete => (Status::Complete, None),
            Outcome::Failed(error) => (Status::Failed, Some(error)),
        };
        let state = &self.state;
        state.ended.store(true, Ordering::Relaxed);
        let end = RunEnd {
            status,
            error: error.clone(),
            time: now(),
        };
        state.writer.finish(end.clone());
        self.info.end(status, error, end.time);
        self.info.queue_blocked_s = state.writer.blocked().as_secs_f64();
        if let Err(e) = write_info(&state.dir, &self.info) {
            tracing::error!(
                "labbook could not record the end of run {}/{}: {e}",
                state.experiment,
                state.id
            );
        }
        active::leave(state);
    }

    /// Ends the run as `FAILED` with the panic message, then lets the panic go on.
    pub fn end_with_panic(self, payload: Box<dyn Any + Send>) -> ! {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic with a non-text payload".to_owned());
        self.end(Outcome::Failed(format!("panicked: {message}")));
        std::panic::resume_unwind(payload)
    }
}

fn start_backends(context: &RunContext) -> Vec<Named> {
    let registry = backend::registry();
    for conflict in &registry.conflicts {
        tracing::error!("{conflict}");
    }
    let mut started = Vec::new();
    for (name, registration) in &registry.backends {
        let created = (registration.create)(context).and_then(|backend| match backend {
            Some(mut backend) => backend.start(context).map(|()| Some(backend)),
            None => Ok(None),
        });
        match created {
            Ok(Some(backend)) => started.push(Named { name, backend }),
            Ok(None) => {}
            Err(e) => tracing::warn!("labbook backend `{name}` is off for this run: {e}"),
        }
    }
    started
}

/// Writes this rank's `metadata/rank<r>.json` and, on rank 0, `info.json` with every rank
/// that has reported so far.
fn write_info(dir: &Path, info: &Info) -> crate::Result<()> {
    layout::write_json(&layout::rank_file(dir, info.rank), &info.rank_info())?;
    if info.rank != 0 {
        return Ok(());
    }
    let mut info = info.clone();
    if info.world_size > 1 {
        info.ranks = (0..info.world_size)
            .filter_map(|rank| {
                let text = std::fs::read_to_string(layout::rank_file(dir, rank)).ok()?;
                serde_json::from_str::<RankInfo>(&text).ok()
            })
            .collect();
    }
    layout::write_json(&layout::info_file(dir), &info)
}
