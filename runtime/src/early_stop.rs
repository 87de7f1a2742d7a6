//! [`EarlyStop`]: telling a training loop to stop once a metric has stopped improving, and
//! recording that decision in the run.

use crate::checkpoint::Mode;
use crate::store::meta::StoppedEarly;

/// Stops a training loop on a plateau: after `patience` evaluations in a row that do not
/// improve on the best value by more than `min_delta` (or at once on a NaN or infinite
/// value). The decision is recorded in the active run's `metadata/info.json` as
/// `stopped_early` (step, metric, best value and its step, reason), which `labbook show`
/// prints; the loop itself decides what stopping means (usually `break`).
///
/// ```
/// use labbook::prelude::*;
/// use labbook::{EarlyStop, Mode};
///
/// #[experiment(name = "early")]
/// fn train() -> labbook::Result<u64> {
///     let mut stop = EarlyStop::new("test_loss", Mode::Min).patience(2).min_delta(0.01);
///     let losses = [0.9, 0.5, 0.4, 0.405, 0.399, 0.41, 0.3];
///     for (epoch, loss) in losses.into_iter().enumerate() {
///         let epoch = epoch as u64;
///         #[log(metric, step = epoch)]
///         let test_loss = loss;
///         if stop.update(epoch, test_loss) {
///             return Ok(epoch);
///         }
///     }
///     Ok(losses.len() as u64)
/// }
/// # std::env::set_var("LABBOOK_DIR", std::env::temp_dir().join("labbook-doc"));
/// # std::env::set_var("LABBOOK_CONSOLE", "off");
/// // 0.405 and 0.399 are no better than 0.4 by more than 0.01: stop after epoch 4.
/// assert_eq!(train()?, 4);
/// # Ok::<(), labbook::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct EarlyStop {
    metric: String,
    mode: Mode,
    patience: u64,
    min_delta: f64,
    /// The best value so far and its step.
    best: Option<(f64, u64)>,
    /// Evaluations since the best.
    waited: u64,
    stopped: Option<StoppedEarly>,
}

impl EarlyStop {
    /// Watches `metric` (the name it is logged under, for the record), where `mode` says
    /// whether larger or smaller is better; patience 3 and no minimum change to start with.
    pub fn new(metric: &str, mode: Mode) -> EarlyStop {
        EarlyStop {
            metric: metric.to_owned(),
            mode,
            patience: 3,
            min_delta: 0.0,
            best: None,
            waited: 0,
            stopped: None,
        }
    }

    /// How many evaluations in a row without improvement end the loop (at least 1).
    pub fn patience(mut self, evaluations: u64) -> EarlyStop {
        self.patience = evaluations.max(1);
        self
    }

    /// By how much a value must beat the best to count as an improvement.
    pub fn min_delta(mut self, delta: f64) -> EarlyStop {
        self.min_delta = delta.abs();
        self
    }

    /// Takes the metric's `value` at `step`; `true` when the loop should stop (and from then
    /// on). The first `true` is recorded in the active run, if there is one.
    pub fn update(&mut self, step: u64, value: f64) -> bool {
        if self.stopped.is_some() {
            return true;
        }
        let reason = if !value.is_finite() {
            Some(format!("`{}` was {value} at step {step}", self.metric))
        } else {
            match self.best {
                Some((best, _)) if !self.mode.improves(value, best, self.min_delta) => {
                    self.waited += 1;
                    (self.waited >= self.patience).then(|| self.plateau())
                }
                _ => {
                    self.best = Some((value, step));
                    self.waited = 0;
                    None
                }
            }
        };
        let Some(reason) = reason else {
            return false;
        };
        let (best, best_step) = self.best.unwrap_or((value, step));
        let decision = StoppedEarly {
            step,
            metric: self.metric.clone(),
            best,
            best_step,
            reason,
        };
        if let Some(state) = crate::run::run().state() {
            state.stopped_early(decision.clone());
        }
        self.stopped = Some(decision);
        true
    }

    /// The best value so far and its step.
    pub fn best(&self) -> Option<(f64, u64)> {
        self.best
    }

    /// The decision, once [`EarlyStop::update`] has said to stop.
    pub fn stopped(&self) -> Option<&StoppedEarly> {
        self.stopped.as_ref()
    }

    fn plateau(&self) -> String {
        let (best, step) = self.best.unwrap_or_default();
        let by = if self.min_delta > 0.0 {
            format!(" by more than {}", self.min_delta)
        } else {
            String::new()
        };
        format!(
            "`{}` did not improve on its {} of {best} (step {step}){by} in {} evaluations",
            self.metric,
            self.mode.as_str(),
            self.waited
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stops_at(mut stop: EarlyStop, values: &[f64]) -> Option<u64> {
        (0..values.len() as u64).find(|&step| stop.update(step, values[step as usize]))
    }

    #[test]
    fn patience_counts_evaluations_without_improvement() {
        let max = EarlyStop::new("acc", Mode::Max).patience(2);
        assert_eq!(stops_at(max.clone(), &[0.1, 0.2, 0.2, 0.19, 0.3]), Some(3));
        assert_eq!(stops_at(max.clone(), &[0.1, 0.2, 0.2, 0.3, 0.3]), None);
        let min = EarlyStop::new("loss", Mode::Min).patience(1).min_delta(0.1);
        assert_eq!(stops_at(min, &[1.0, 0.5, 0.45]), Some(2));
        assert_eq!(stops_at(max, &[0.1, f64::NAN]), Some(1));
    }

    #[test]
    fn the_decision_says_why() {
        let mut stop = EarlyStop::new("test_acc", Mode::Max).patience(2);
        for (step, value) in [0.5, 0.9, 0.8, 0.85].into_iter().enumerate() {
            stop.update(step as u64, value);
        }
        let decision = stop.stopped().unwrap();
        assert_eq!(
            (decision.step, decision.best, decision.best_step),
            (3, 0.9, 1)
        );
        assert_eq!(
            decision.reason,
            "`test_acc` did not improve on its max of 0.9 (step 1) in 2 evaluations"
        );
        assert!(stop.update(4, 1.0), "a stopped loop stays stopped");
    }
}
