//! Not public API. The code `#[experiment]` generates calls these items; they change
//! without notice between versions, and the macros are pinned to this exact version.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

pub use crate::gate::{Ranks, Site};
pub use crate::run::{Experiment, ExperimentSpec, Outcome, RunState};
pub use serde;

use crate::kinds::{Config, FailureText, Metric, Param, Text};
use crate::name::Name;
use crate::record::Value;

/// `false` with the `off` feature: every site compiles out.
pub const ENABLED: bool = !cfg!(feature = "off");

#[inline]
pub fn site(run: &RunState, every: u64, ranks: Ranks) -> Site {
    Site::new(run.rank(), every, ranks)
}

#[inline]
pub fn site_once(run: &RunState, ranks: Ranks) -> Site {
    Site::once(run.rank(), ranks)
}

pub fn config<C: Config + ?Sized>(config: &C) -> serde_json::Value {
    config.to_json().unwrap_or_else(|e| {
        tracing::error!("labbook could not serialise the #[config] argument: {e}");
        serde_json::Value::Null
    })
}

pub fn catch<T>(body: impl FnOnce() -> T) -> Result<T, Box<dyn Any + Send>> {
    panic::catch_unwind(AssertUnwindSafe(body))
}

#[inline]
pub fn metric<T: Metric + ?Sized>(run: &RunState, name: &'static str, step: u64, value: &T) {
    run.push(Name::from_site(name), step, Value::Scalar(value.to_f64()));
}

#[inline]
pub fn text<T: Text + ?Sized>(run: &RunState, name: &'static str, step: u64, value: &T) {
    run.push(Name::from_site(name), step, Value::Text(value.to_text()));
}

#[inline]
pub fn param<T: Param + ?Sized>(run: &RunState, name: &'static str, step: u64, value: &T) {
    match value.to_json() {
        Ok(json) => run.push(Name::from_site(name), step, Value::Param(json)),
        Err(e) => tracing::error!("labbook could not record param `{name}`: {e}"),
    }
}

/// The value of `step = expr`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a step",
    label = "not an integer",
    note = "`step = ...` takes an unsigned integer (`u64`, `usize`, `u32`) or a non-negative `i64`/`i32`"
)]
pub trait Step {
    fn to_step(self) -> u64;
}

macro_rules! step_from {
    ($($ty:ty),*) => {$(
        impl Step for $ty {
            #[inline]
            fn to_step(self) -> u64 {
                u64::try_from(self).unwrap_or(0)
            }
        }
    )*};
}

step_from!(u8, u16, u32, u64, usize, i32, i64, isize);

impl<T: Step + Copy> Step for &T {
    fn to_step(self) -> u64 {
        (*self).to_step()
    }
}

#[inline]
pub fn step(step: impl Step) -> u64 {
    step.to_step()
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
