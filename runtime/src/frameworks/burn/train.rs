//! burn-train's metrics in the active labbook run: [`LabbookLogger`], a burn-train
//! `MetricLogger` added with one line, `.with_metric_logger(LabbookLogger::new())`.
//!
//! burn-train (0.22) hands its metric loggers an update after every batch and a final one
//! at the end of each split's epoch. The logger records, for split `train`, `valid` or
//! `test`, and burn's metric name in lowercase with `_` for spaces (`Loss` → `loss`,
//! `Learning Rate` → `learning_rate`):
//!
//! - `<split>/<name>` after every batch: the batch's value, at the split's batch count
//!   (0, 1, 2, … across epochs);
//! - `<split>/<name>_epoch` at the end of each epoch: burn's value for the whole epoch (the
//!   mean over its batches for a loss or an accuracy), at the epoch number (1, 2, …);
//! - a metric that is not a number as a text, under the same names.
//!
//! The points go through labbook's writer to every backend of the run (TensorBoard, MLflow,
//! W&B); `.every(n)` keeps one batch point in `n`, as `#[log(every = n)]` does. burn's own
//! queries (best epoch for its checkpoints, early stopping, its summary) read an in-memory
//! copy, burn's `InMemoryMetricLogger`, so a program with this logger alone behaves as with
//! burn's file logger, without the `train-*/epoch-*/*.log` files.

use std::collections::HashMap;

use burn::train::logger::{InMemoryMetricLogger, MetricLogger};
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, MetricEntry, MetricId, NumericEntry};

use crate::run::{run, Run};

/// A burn-train metric logger that records every burn metric in the run that was active
/// when it was made (see the [module](self) for the names).
///
/// ```no_run
/// use burn::train::{LearnerModel, SupervisedTraining};
///
/// // Inside the `#[experiment]`, on `SupervisedTraining::new(dir, train_loader, valid_loader)`:
/// fn recorded<M: LearnerModel>(training: SupervisedTraining<M>) -> SupervisedTraining<M> {
///     training.with_metric_logger(labbook::burn::LabbookLogger::new())
/// }
/// ```
pub struct LabbookLogger {
    run: Run,
    every: u64,
    names: HashMap<MetricId, String>,
    /// Batches seen per split, across epochs: the step of the next batch point.
    batches: HashMap<String, u64>,
    memory: InMemoryMetricLogger,
    warned: bool,
}

impl std::fmt::Debug for LabbookLogger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabbookLogger")
            .field("run", &self.run.label())
            .field("every", &self.every)
            .finish_non_exhaustive()
    }
}

impl Default for LabbookLogger {
    fn default() -> Self {
        Self::new()
    }
}

impl LabbookLogger {
    /// A logger for the active run (`labbook::run()`, taken now: burn calls loggers on a
    /// thread of its own).
    pub fn new() -> LabbookLogger {
        LabbookLogger::for_run(run())
    }

    /// A logger for `run`.
    pub fn for_run(run: Run) -> LabbookLogger {
        LabbookLogger {
            run,
            every: 1,
            names: HashMap::new(),
            batches: HashMap::new(),
            memory: InMemoryMetricLogger::new(),
            warned: false,
        }
    }

    /// Records one batch point in `n` (the first, then every `n`-th) of each split; epoch
    /// points are all recorded. `n = 0` is taken as 1.
    pub fn every(mut self, n: u64) -> LabbookLogger {
        self.every = n.max(1);
        self
    }

    fn record(&mut self, name: &str, step: u64, entry: &MetricEntry, numeric: Option<f64>) {
        let result = match numeric {
            Some(value) => self.run.log_metric(name, step, value),
            None => self
                .run
                .log_text(name, step, &entry.serialized_entry.formatted),
        };
        if let Err(e) = result {
            if !self.warned {
                self.warned = true;
                tracing::warn!("labbook could not record burn's metric `{name}`: {e}");
            }
        }
    }
}

/// The value of a numeric entry: from burn's parsed entry, or its serialized form.
fn value(entry: &MetricEntry, parsed: Option<&NumericEntry>) -> Option<(f64, bool)> {
    let parsed = match parsed {
        Some(parsed) => parsed.clone(),
        None => NumericEntry::deserialize(&entry.serialized_entry.serialized).ok()?,
    };
    Some((parsed.current(), matches!(parsed, NumericEntry::Final(_))))
}

/// `train`, `valid`, `test` or `test/<tag>`.
fn split_name(split: &Split) -> String {
    match split {
        Split::Test(Some(tag)) => format!("test/{}", stream_name(tag)),
        other => other.to_string(),
    }
}

/// burn's metric name as a stream name: lowercase, `_` for spaces and for characters a
/// stream name cannot hold (`Learning Rate` → `learning_rate`).
fn stream_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') {
            c
        } else {
            '_'
        };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    let out = out.trim_matches('_');
    if out.is_empty() {
        "metric".to_owned()
    } else {
        out.to_owned()
    }
}

impl MetricLogger for LabbookLogger {
    fn log(&mut self, update: MetricsUpdate, epoch: usize, split: &Split) {
        let prefix = split_name(split);
        let mut points = Vec::new();
        let mut batch = false;
        for entry in &update.entries {
            if !entry.serialized_entry.is_not_available() {
                points.push((entry, None, false));
                batch = true;
            }
        }
        for numeric in &update.entries_numeric {
            let entry = &numeric.entry;
            if entry.serialized_entry.is_not_available() {
                continue;
            }
            let (value, last) = match value(entry, numeric.numeric_entry.as_ref()) {
                Some((value, last)) => (Some(value), last),
                None => (None, false),
            };
            batch |= !last;
            points.push((entry, value, last));
        }
        let count = self.batches.entry(prefix.clone()).or_insert(0);
        let step = *count;
        if batch {
            *count += 1;
        }
        let keep_batch = step.is_multiple_of(self.every);
        for (entry, value, last) in points {
            let Some(name) = self.names.get(&entry.metric_id).cloned() else {
                continue;
            };
            if last {
                self.record(
                    &format!("{prefix}/{name}_epoch"),
                    epoch as u64,
                    entry,
                    value,
                );
            } else if keep_batch {
                self.record(&format!("{prefix}/{name}"), step, entry, value);
            }
        }
        self.memory.log(update, epoch, split);
    }

    fn read_numeric(
        &mut self,
        name: &str,
        epoch: usize,
        split: &Split,
    ) -> Result<Vec<NumericEntry>, String> {
        self.memory.read_numeric(name, epoch, split)
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id.clone(), stream_name(&definition.name));
        self.memory.log_metric_definition(definition);
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        self.memory.log_epoch_summary(summary);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burn_metric_names_become_stream_names() {
        assert_eq!(stream_name("Loss"), "loss");
        assert_eq!(stream_name("Learning Rate"), "learning_rate");
        assert_eq!(stream_name("CPU Temperature (°C)"), "cpu_temperature_c");
        assert_eq!(stream_name("Top-5 Accuracy"), "top-5_accuracy");
        assert_eq!(stream_name(" "), "metric");
        assert_eq!(split_name(&Split::Valid), "valid");
        let tag = std::sync::Arc::new("Hard Cases".to_owned());
        assert_eq!(split_name(&Split::Test(Some(tag))), "test/hard_cases");
    }
}
