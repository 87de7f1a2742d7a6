//! Starts a run's system-metrics sampler and hands its samples to the run's writer queue,
//! dropping (and counting) a sample rather than ever making anyone wait for it.

use std::sync::{Arc, Weak};

use super::{spec::Sampling, RunState};
use crate::record::{Record, Value};
use crate::store::layout;
use crate::system::{self, Sample, Sampler};

/// Starts sampling for `state` as `sampling` and the environment say; `None` when off.
pub(super) fn start(state: &Arc<RunState>, sampling: Sampling) -> Option<Sampler> {
    let every = match sampling {
        Sampling::Every(every) => Some(every),
        Sampling::Default | Sampling::Off => None,
    };
    let interval = system::interval(sampling == Sampling::Off, every)?;
    let start = state
        .info
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .start_unix;
    let run = Arc::downgrade(state);
    Sampler::start(
        interval,
        start,
        &state.dir,
        Box::new(move |s| hand_over(&run, s)),
    )
}

/// Queues every value of `sample`; `false` once the run is gone.
fn hand_over(run: &Weak<RunState>, sample: &Sample<'_>) -> bool {
    let Some(state) = run.upgrade() else {
        return false;
    };
    for (name, value) in sample.values {
        let record = Record {
            name: name.clone(),
            step: sample.step,
            time: sample.time,
            value: Value::System(*value),
        };
        if let Err(record) = state.writer.try_push(record) {
            let path = layout::stream_file(&state.dir, layout::SYSTEM, &record.name, state.rank);
            state.problems.stream(
                &layout::relative(&state.dir, &path),
                1,
                "a system sample was dropped: the run's queue was full (training points come first) or its writer had stopped",
            );
        }
    }
    true
}
