//! The median stopping rule (Google Vizier's, as Optuna's `MedianPruner` and Ray Tune's
//! `MedianStoppingRule` apply it): a running trial whose metric at its latest step `s` is
//! worse than the median of the finished trials' values at `s` (each one's last point at or
//! before `s`) is stopped, once at least `after` finished trials have a value there and `s`
//! is at least `min_step`.

use super::spec::{Goal, Median};
use labbook::store::read::Point;

/// Why the trial whose metric stream is `running` should stop, or `None`. `finished` holds
/// the finished trials' streams of the same metric, in step order.
pub(crate) fn verdict(
    rule: Median,
    goal: Goal,
    metric: &str,
    running: &[Point],
    finished: &[Vec<Point>],
) -> Option<String> {
    let last = running.last()?;
    if last.step < rule.min_step || !last.value.is_finite() {
        return None;
    }
    let mut earlier: Vec<f64> = finished
        .iter()
        .filter_map(|stream| stream.iter().take_while(|p| p.step <= last.step).last())
        .map(|p| p.value)
        .filter(|v| v.is_finite())
        .collect();
    if earlier.is_empty() || earlier.len() < rule.after {
        return None;
    }
    earlier.sort_by(f64::total_cmp);
    let middle = earlier.len() / 2;
    let median = if earlier.len() % 2 == 1 {
        earlier[middle]
    } else {
        (earlier[middle - 1] + earlier[middle]) / 2.0
    };
    goal.better(median, last.value).then(|| {
        format!(
            "median rule: {metric} {} at step {} is worse than the median {} of {} finished trials",
            crate::table::number(last.value),
            last.step,
            crate::table::number(median),
            earlier.len()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(points: &[(u64, f64)]) -> Vec<Point> {
        points
            .iter()
            .map(|&(step, value)| Point {
                step,
                value,
                time: 0.0,
            })
            .collect()
    }

    #[test]
    fn a_trial_below_the_median_at_its_step_stops() {
        let rule = Median {
            after: 3,
            min_step: 10,
        };
        let finished = [
            stream(&[(0, 0.1), (10, 0.5), (20, 0.9)]),
            stream(&[(0, 0.1), (10, 0.6), (20, 0.8)]),
            stream(&[(0, 0.1), (10, 0.7), (20, 0.95)]),
        ];
        let bad = stream(&[(0, 0.1), (10, 0.2)]);
        assert_eq!(
            verdict(rule, Goal::Max, "acc", &bad, &finished).unwrap(),
            "median rule: acc 0.2 at step 10 is worse than the median 0.6 of 3 finished trials"
        );
        // Better than the median, or before min_step, or with too few finished trials: runs on.
        assert!(verdict(rule, Goal::Max, "acc", &stream(&[(10, 0.65)]), &finished).is_none());
        assert!(verdict(rule, Goal::Max, "acc", &stream(&[(0, 0.0)]), &finished).is_none());
        assert!(verdict(rule, Goal::Max, "acc", &bad, &finished[..2]).is_none());
        // For a loss, higher is worse.
        assert!(verdict(rule, Goal::Min, "loss", &stream(&[(15, 0.9)]), &finished).is_some());
    }
}
