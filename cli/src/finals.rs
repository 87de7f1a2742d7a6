//! The final value of each metric of a run, and which way is better for a metric: what
//! `labbook compare` marks and `compare --group-by` pools.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use crate::store::Run;
use crate::table;
use crate::warn;

/// Which way is better for a metric, read off its name.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Better {
    Lower,
    Higher,
}

/// Words of metric names where lower is better (`train/loss`, `val_error`, `wer`).
const LOWER: [&str; 18] = [
    "loss",
    "err",
    "error",
    "errors",
    "mse",
    "mae",
    "rmse",
    "nll",
    "perplexity",
    "ppl",
    "cer",
    "wer",
    "fid",
    "latency",
    "regret",
    "cost",
    "distance",
    "time",
];
/// Words of metric names where higher is better (`val_acc`, `f1`, `reward`).
const HIGHER: [&str; 18] = [
    "acc",
    "accuracy",
    "f1",
    "auc",
    "auroc",
    "precision",
    "recall",
    "reward",
    "return",
    "bleu",
    "rouge",
    "score",
    "iou",
    "map",
    "r2",
    "dice",
    "psnr",
    "ssim",
];

/// `Lower` for loss- and error-like names, `Higher` for accuracy- and score-like ones.
pub(crate) fn better(name: &str) -> Option<Better> {
    let leaf = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    let words: Vec<&str> = leaf
        .split(['_', '-', '.', ' '])
        .map(|w| w.trim_end_matches(|c: char| c.is_ascii_digit()))
        .collect();
    let has = |list: &[&str]| words.iter().any(|w| list.contains(w));
    // The last word decides `loss_acc`-like names; `top1_acc` and `acc1` read as accuracy.
    match (has(&LOWER), has(&HIGHER)) {
        (true, false) => Some(Better::Lower),
        (false, true) => Some(Better::Higher),
        (true, true) => words.iter().rev().find_map(|w| {
            if LOWER.contains(w) {
                Some(Better::Lower)
            } else if HIGHER.contains(w) {
                Some(Better::Higher)
            } else {
                None
            }
        }),
        (false, false) => None,
    }
}

/// The last `(value, time)` of each metric of a run.
pub(crate) fn finals(run: &Run) -> Result<BTreeMap<String, (f64, f64)>> {
    let mut finals = BTreeMap::new();
    for stream in run.dir.metrics() {
        let name = stream.key();
        let last = stream
            .last()
            .with_context(|| format!("cannot read metric `{name}` of {}", run.label()))?;
        if let Some(warning) = last.warning {
            warn(warning);
        }
        if let Some(point) = last.points.last() {
            finals.insert(name, (point.value, point.time));
        }
    }
    Ok(finals)
}

/// The best of two or more values, if the name says which way is better.
pub(crate) fn best(name: &str, values: &[Option<f64>]) -> Option<f64> {
    let present: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| !v.is_nan())
        .collect();
    if present.len() < 2 {
        return None;
    }
    match better(name)? {
        Better::Lower => present.into_iter().reduce(f64::min),
        Better::Higher => present.into_iter().reduce(f64::max),
    }
}

/// A row's cells, the best value marked `*`, and whether one was marked.
pub(crate) fn marked_cells(name: &str, values: &[Option<f64>]) -> (Vec<String>, bool) {
    let best = best(name, values);
    let cells = values
        .iter()
        .map(|v| match v {
            None => "-  ".into(),
            Some(v) if best == Some(*v) => format!("{} *", table::number(*v)),
            Some(v) => format!("{}  ", table::number(*v)),
        })
        .collect();
    (cells, best.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_way_is_better_is_read_off_the_name() {
        assert_eq!(better("train/loss"), Some(Better::Lower));
        assert_eq!(better("val_acc"), Some(Better::Higher));
        assert_eq!(better("top1_acc"), Some(Better::Higher));
        assert_eq!(better("acc5"), Some(Better::Higher));
        assert_eq!(better("test/error_rate"), Some(Better::Lower));
        assert_eq!(better("loss_scale_acc"), Some(Better::Higher));
        assert_eq!(better("lr"), None);
        assert_eq!(better("heatmap_size"), None);
    }
}
