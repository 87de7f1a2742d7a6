//! Not public API. The code `#[experiment]` generates calls these items; they change
//! without notice between versions, and the macros are pinned to this exact version.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

pub use crate::checkpoint::{Keep, Mode};
pub use crate::gate::{Ranks, Site};
pub use crate::run::{Experiment, ExperimentSpec, Outcome, Program, RunState, Sampling};
pub use serde;

use crate::artifact::Artifact;
use crate::checkpoint::{self, Checkpoint};
use crate::histogram::Histogram;
use crate::image::ToImage;
use crate::kinds::{Config, FailureText, Metric, Param, Text};
use crate::name::Name;
use crate::record::Value;

/// `false` with the `off` feature: every site compiles out.
pub const ENABLED: bool = !cfg!(feature = "off");

/// The counter of site `index`, continuing from the checkpoint of a resumed run.
pub fn site(run: &RunState, index: u32, name: &'static str, every: u64, ranks: Ranks) -> Site {
    let site = Site::new(index, name, run.rank(), every, ranks);
    if let Some(counter) = run.resume().and_then(|r| r.counter(index, name)) {
        site.restore(counter);
    }
    site
}

/// The `#[config]` argument as JSON, with secret-named fields redacted (all but those
/// `#[config(public = [...])]` lists) before any file or backend sees it.
pub fn config<C: Config + ?Sized>(config: &C, public: &[&str]) -> serde_json::Value {
    let mut value = config.to_json().unwrap_or_else(|e| {
        tracing::error!("labbook could not serialise the #[config] argument: {e}");
        serde_json::Value::Null
    });
    crate::redact::config(&mut value, public);
    value
}

pub fn catch<T>(body: impl FnOnce() -> T) -> Result<T, Box<dyn Any + Send>> {
    panic::catch_unwind(AssertUnwindSafe(body))
}

fn name(site: &Site) -> Name {
    Name::from_site(site.name())
}

#[inline]
pub fn metric<T: Metric + ?Sized>(run: &RunState, site: &Site, step: u64, value: &T) {
    let value = value.to_f64();
    site.set_last(value);
    run.push(name(site), step, Value::Scalar(value));
}

#[inline]
pub fn text<T: Text + ?Sized>(run: &RunState, site: &Site, step: u64, value: &T) {
    run.push(name(site), step, Value::Text(value.to_text()));
}

pub fn param<T: Param + ?Sized>(run: &RunState, site: &Site, step: u64, value: &T) {
    match value.to_json() {
        Ok(json) => {
            let json = crate::redact::param(site.name(), json);
            run.push(name(site), step, Value::Param(json))
        }
        Err(e) => tracing::error!("labbook could not record param `{}`: {e}", site.name()),
    }
}

pub fn histogram<T: Histogram + ?Sized>(run: &RunState, site: &Site, step: u64, value: &T) {
    run.push(
        name(site),
        step,
        Value::Histogram(Arc::new(value.summary())),
    );
}

pub fn image<T: ToImage + ?Sized>(run: &RunState, site: &Site, step: u64, value: &T) {
    match value.to_image() {
        Ok(image) => run.push(name(site), step, Value::Image(Arc::new(image))),
        Err(e) => tracing::error!("labbook could not record image `{}`: {e}", site.name()),
    }
}

/// Copies an artifact into the run. What is refused (a special file, the runs root, an
/// unreadable entry, a link whose target stays outside) is counted under
/// `artifact <name>` in the run's problems and logged once per site; the run goes on.
pub fn artifact<T: Artifact + ?Sized>(run: &RunState, site: &Site, step: u64, value: &T) {
    let key = format!("artifact {}", site.name());
    match crate::artifact::copy(run.dir(), site.name(), run.rank(), value.path()) {
        Ok(copy) => {
            let mut first_time = false;
            for refused in &copy.refused {
                first_time |= run.problems().site(&key, 1, refused);
            }
            if let (true, Some(first)) = (first_time, copy.refused.first()) {
                tracing::warn!(
                    "labbook left {} entr{} out of artifact `{}`: {first}",
                    copy.refused.len(),
                    if copy.refused.len() == 1 { "y" } else { "ies" },
                    site.name()
                );
            }
            run.push(name(site), step, Value::Artifact(copy.target))
        }
        Err(e) => {
            if run.problems().site(&key, 1, &e) {
                tracing::error!("labbook could not record artifact `{}`: {e}", site.name());
            }
        }
    }
}

/// Saves a checkpoint with every site's counters; `sites` are all of the experiment's.
pub fn checkpoint<F, T: Checkpoint<F> + ?Sized>(
    run: &RunState,
    sites: &[&Site],
    site: &Site,
    step: u64,
    keep: Keep,
    value: &T,
) {
    run.flush();
    let saving = checkpoint::Saving {
        dir: run.dir(),
        run: run.label(),
        rank: run.rank(),
        site,
        step,
        keep,
        sites,
    };
    match checkpoint::write(&saving, value) {
        Ok(file) => run.push(name(site), step, Value::Checkpoint(file)),
        Err(e) => {
            tracing::error!(
                "labbook could not save checkpoint `{}` at step {step}: {e}",
                site.name()
            );
            let key = format!("checkpoint {}", site.name());
            run.problems()
                .site(&key, 1, format!("step {step} was not saved: {e}"));
        }
    }
}

/// Fault injection for labbook's own durability tests: stops the run's writer thread as a
/// bug in it would, so that tests can show the training thread never waits on it.
pub fn crash_writer(run: &crate::run::Run) {
    if let Some(state) = run.state() {
        state.crash_writer();
    }
}

/// Wraps the iterator of a `#[progress]` loop; `sites` are the metric sites inside it.
pub fn progress<'a, I: IntoIterator>(
    run: &RunState,
    label: &'static str,
    iter: I,
    sites: &'a [&'a Site],
) -> crate::progress::Progress<'a, I::IntoIter> {
    crate::progress::Progress::new(run, label, iter.into_iter(), sites)
}

/// What `#[experiment(resume = expr)]` takes: a run id, or `None` for a new run.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot name a run to resume",
    label = "not a run id",
    note = "`resume = ...` takes an `Option<u64>` run id (`None` starts a new run) or a `u64`"
)]
pub trait RunId {
    fn run_id(self) -> Option<u64>;
}

impl RunId for u64 {
    fn run_id(self) -> Option<u64> {
        Some(self)
    }
}

impl RunId for Option<u64> {
    fn run_id(self) -> Option<u64> {
        self
    }
}

impl RunId for &u64 {
    fn run_id(self) -> Option<u64> {
        Some(*self)
    }
}

impl RunId for &Option<u64> {
    fn run_id(self) -> Option<u64> {
        *self
    }
}

pub fn resume(id: impl RunId) -> Option<u64> {
    id.run_id()
}

/// The value of `step = expr`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a step",
    label = "not an integer",
    note = "`step = ...` takes an unsigned integer (`u64`, `usize`, `u32`) or a non-negative `i64`/`i32`"
)]
pub trait Step {
    /// The step, or the value itself when it is negative.
    fn to_step(self) -> Result<u64, i128>;
}

macro_rules! step_from {
    ($($ty:ty),*) => {$(
        impl Step for $ty {
            #[inline]
            fn to_step(self) -> Result<u64, i128> {
                u64::try_from(self).map_err(|_| self as i128)
            }
        }

        impl Step for &$ty {
            #[inline]
            fn to_step(self) -> Result<u64, i128> {
                (*self).to_step()
            }
        }
    )*};
}

step_from!(u8, u16, u32, u64, usize, i32, i64, isize);

/// The value of `step = expr`; a negative one records nothing and is counted in the run's
/// problems (steps count from 0).
#[inline]
pub fn step(run: &RunState, site: &Site, step: impl Step) -> Option<u64> {
    match step.to_step() {
        Ok(step) => Some(step),
        Err(negative) => {
            negative_step(run, site, negative);
            None
        }
    }
}

#[cold]
fn negative_step(run: &RunState, site: &Site, value: i128) {
    let message =
        format!("`step = ...` was {value}; steps count from 0, so this point was not recorded");
    tracing::error!("labbook site `{}`: {message}", site.name());
    run.problems().site(site.name(), 1, message);
}

/// How a body that returned `Result<T, E>` ended (checked: `E` must implement `Display`).
pub fn result_outcome<T, E: FailureText>(result: &Result<T, E>) -> Outcome {
    match result {
        Ok(_) => Outcome::Complete,
        Err(e) => Outcome::Failed(e.failure_text()),
    }
}

/// Picks the outcome of a body by its type: a `Result` behind an alias fails on `Err`.
pub trait ResultOutcome {
    fn __lb_outcome(&self) -> Outcome;
}

impl<T, E: FailureText> ResultOutcome for Result<T, E> {
    fn __lb_outcome(&self) -> Outcome {
        result_outcome(self)
    }
}

/// Any other return value completes the run.
pub trait AnyOutcome {
    fn __lb_outcome(&self) -> Outcome;
}

impl<T> AnyOutcome for &T {
    fn __lb_outcome(&self) -> Outcome {
        Outcome::Complete
    }
}
