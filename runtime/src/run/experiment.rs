//! Starting and ending a run around the body of an `#[experiment]` function.

use std::any::Any;
use std::sync::{Arc, Mutex};

use super::info::write_info;
use super::spec::ExperimentSpec;
use super::{active, RunState};
use crate::backend::{self, RunContext};
use crate::checkpoint::Resume;
use crate::fanout::Named;
use crate::launcher;
use crate::problems::ProblemLog;
use crate::record::now;
use crate::store::meta::{Info, Status};
use crate::store::{alloc, layout};
use crate::writer::Writer;

/// How the body ended.
#[derive(Debug)]
pub enum Outcome {
    /// It returned normally (`Ok` for a `Result`).
    Complete,
    /// It returned `Err` or panicked: why, in one sentence.
    Failed(String),
}

/// A run in progress, owned by the generated code of one `#[experiment]` call.
#[derive(Debug)]
pub struct Experiment {
    state: Arc<RunState>,
}

impl Experiment {
    /// Allocates the run directory, writes the metadata, starts the backends and the writer.
    ///
    /// # Panics
    ///
    /// When the run directory cannot be created: there would be nowhere to record anything.
    /// With `resume = Some(id)`, continues run `id` from its last checkpoint instead.
    pub fn begin(
        spec: ExperimentSpec,
        config: Option<serde_json::Value>,
        resume: Option<u64>,
    ) -> Experiment {
        match Experiment::try_begin(&spec, config, resume) {
            Ok(experiment) => experiment,
            Err(e) => match resume {
                Some(id) => panic!("labbook cannot resume run {}/{id}: {e}", spec.name),
                None => panic!(
                    "labbook cannot start a run of `{}`: {e}. Set LABBOOK_DIR to a writable directory.",
                    spec.name
                ),
            },
        }
    }

    fn try_begin(
        spec: &ExperimentSpec,
        config: Option<serde_json::Value>,
        resume: Option<u64>,
    ) -> crate::error::Result<Experiment> {
        crate::diagnostics::init_tracing();
        let start = now();
        let launch = launcher::detect();
        let experiment_dir = layout::root().join(spec.name);
        let (id, dir, resume) = match resume {
            Some(id) => {
                let dir = alloc::existing(&experiment_dir, id)?;
                let resume = Resume::prepare(&dir, launch.rank)?;
                (id, dir, Some(resume))
            }
            None => {
                let (id, dir) = alloc::allocate(&experiment_dir, launch.claim().as_ref())?;
                (id, dir, None)
            }
        };
        layout::create_run_folders(&dir)?;
        let mut info = Info::gather(spec.name, id, spec.function, spec.file, &launch, start);
        super::tags::gather(&mut info, spec.tags, spec.group);
        super::reproducibility::record(&mut info, &spec.program, config.as_ref(), &dir);
        info.overrides = crate::config::recorded();
        if let Some(resume) = &resume {
            info.resumed(&layout::info_file(&dir), resume.sidecar.step);
        }
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
            problems: ProblemLog::new(),
        };
        for (section, key, lost, error) in resume.iter().flat_map(|r| &r.problems) {
            context.problems.record(*section, key, *lost, error);
        }
        let backends: Vec<Named> = backend::start(&context)
            .into_iter()
            .map(|(name, backend)| Named::new(name, backend))
            .collect();
        info.backends = backends.iter().map(|b| b.name.to_owned()).collect();
        write_info(&dir, &info)?;
        crate::diagnostics::open_run_log(&dir, launch.rank);
        let writer = Writer::spawn(backends, context.problems.clone(), &dir);
        let state = Arc::new(RunState {
            experiment: spec.name.to_owned(),
            id,
            resume,
            dir,
            rank: launch.rank,
            world_size: launch.world_size,
            writer,
            problems: context.problems.clone(),
            ended: Default::default(),
            saved: Default::default(),
            info: Mutex::new(info),
            system: Mutex::new(None),
        });
        *state.system.lock().unwrap_or_else(|e| e.into_inner()) =
            super::sampling::start(&state, spec.system);
        active::enter(&state);
        super::interrupt::install();
        Ok(Experiment { state })
    }

    /// The state the generated log sites push to.
    #[inline]
    pub fn state(&self) -> &RunState {
        &self.state
    }

    /// Ends the run: every record reaches every backend, then the status is written.
    pub fn end(self, outcome: Outcome) {
        match outcome {
            Outcome::Complete => self.state.end(Status::Complete, None),
            Outcome::Failed(error) => self.state.end(Status::Failed, Some(error)),
        }
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
