//! `method = "tpe"`: the next point from the finished trials, through the `tpe` crate (one
//! tree-structured Parzen estimator per parameter, as Optuna's default independent TPE).
//! The first [`STARTUP`] trials are random draws; the estimator needs results to model.

use anyhow::{anyhow, Result};
use serde_json::Value;

use super::space::{self, Point};
use super::spec::{Goal, Parameter, Spec};

/// Trials drawn at random before the estimator takes over.
pub(crate) const STARTUP: usize = 4;

/// The point of trial `trial`, given the finished trials' points and metric values.
pub(crate) fn next(spec: &Spec, trial: usize, finished: &[(Point, f64)]) -> Result<Point> {
    let finished: Vec<&(Point, f64)> = finished.iter().filter(|(_, v)| v.is_finite()).collect();
    if finished.len() < STARTUP {
        return Ok(space::random_point(spec, trial));
    }
    let mut rng = space::rng(spec, trial);
    let mut point = Point::new();
    for (name, parameter) in &spec.parameters {
        let parameter = parameter.get_ref();
        let failed = |e: &dyn std::fmt::Display| anyhow!("the TPE sampler failed on `{name}`: {e}");
        let (range, estimator) = match parameter {
            Parameter::Grid(values) | Parameter::Choice(values) => (
                tpe::categorical_range(values.len()).map_err(|e| failed(&e))?,
                tpe::histogram_estimator(),
            ),
            Parameter::Uniform([a, b]) => (
                tpe::range(*a, *b).map_err(|e| failed(&e))?,
                tpe::parzen_estimator(),
            ),
            Parameter::LogUniform([a, b]) => (
                tpe::range(a.ln(), b.ln()).map_err(|e| failed(&e))?,
                tpe::parzen_estimator(),
            ),
            Parameter::Int([a, b]) => (
                tpe::range(*a as f64, *b as f64 + 1.0).map_err(|e| failed(&e))?,
                tpe::parzen_estimator(),
            ),
        };
        let mut optimizer = tpe::TpeOptimizer::new(estimator, range);
        for (point, value) in &finished {
            // The estimator minimises.
            let loss = match spec.goal {
                Goal::Min => *value,
                Goal::Max => -value,
            };
            if let Some(x) = point.get(name).and_then(|v| internal(parameter, v)) {
                if range.contains(x) {
                    optimizer.tell(x, loss).map_err(|e| failed(&e))?;
                }
            }
        }
        let x = optimizer.ask(&mut rng).map_err(|e| failed(&e))?;
        point.insert(name.clone(), external(parameter, x));
    }
    Ok(point)
}

/// A value as the estimator sees it: an index for a list, a logarithm for `log_uniform`.
fn internal(parameter: &Parameter, value: &Value) -> Option<f64> {
    match parameter {
        Parameter::Grid(values) | Parameter::Choice(values) => {
            values.iter().position(|v| v == value).map(|i| i as f64)
        }
        Parameter::Uniform(_) => value.as_f64(),
        Parameter::LogUniform(_) => value.as_f64().map(f64::ln),
        Parameter::Int(_) => value.as_f64().map(|x| x + 0.5),
    }
}

/// The estimator's value as the parameter's.
fn external(parameter: &Parameter, x: f64) -> Value {
    match parameter {
        Parameter::Grid(values) | Parameter::Choice(values) => {
            values[(x as usize).min(values.len() - 1)].clone()
        }
        Parameter::Uniform(_) => Value::from(x),
        Parameter::LogUniform([a, b]) => Value::from(x.exp().clamp(*a, *b)),
        Parameter::Int([a, b]) => Value::from((x.floor() as i64).clamp(*a, *b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The points of a 30-trial sweep of `loss`, each trial told the ones before.
    fn sweep(parameters: &str, loss: impl Fn(&Point) -> f64) -> Vec<(Point, f64)> {
        let spec = Spec::parse(&format!(
            "program = \"p\"\nmetric = \"m\"\ngoal = \"min\"\nmethod = \"tpe\"\ntrials = 30\n\
             [parameters]\n{parameters}\n"
        ))
        .unwrap();
        let mut finished = Vec::new();
        for trial in 0..30 {
            let point = next(&spec, trial, &finished).unwrap();
            finished.push((point.clone(), loss(&point)));
        }
        finished
    }

    fn mean(points: &[(Point, f64)]) -> f64 {
        points.iter().map(|(_, v)| v).sum::<f64>() / points.len() as f64
    }

    /// On `(x - 0.3)^2` the estimator's proposals end up nearer the minimum than random ones.
    #[test]
    fn tpe_homes_in_on_the_minimum_of_a_range() {
        let finished = sweep("x = { uniform = [-2, 2] }", |p| {
            let x = p["x"].as_f64().unwrap();
            assert!((-2.0..2.0).contains(&x), "{x}");
            (x - 0.3).powi(2)
        });
        // A uniform draw scores 1.42 on average.
        let (early, late) = (mean(&finished[..STARTUP]), mean(&finished[20..]));
        assert!(
            late < 0.5 && late < early / 2.0,
            "late {late}, early {early}"
        );
        let best = finished.iter().map(|(_, v)| *v).fold(f64::MAX, f64::min);
        assert!(best < 0.01, "best {best}");
    }

    #[test]
    fn tpe_settles_on_the_best_choice() {
        let finished = sweep("k = { choice = [\"a\", \"b\", \"c\"] }", |p| {
            if p["k"] == "b" {
                0.0
            } else {
                1.0
            }
        });
        let late_b = finished[20..].iter().filter(|(p, _)| p["k"] == "b").count();
        assert!(
            late_b >= 7,
            "{late_b} of the last 10 trials chose the best value"
        );
    }

    #[test]
    fn the_first_trials_are_random_draws() {
        let spec = Spec::parse(
            "program = \"p\"\nmetric = \"m\"\ngoal = \"max\"\nmethod = \"tpe\"\ntrials = 9\n\
             [parameters]\nn = { int = [1, 3] }\n",
        )
        .unwrap();
        assert_eq!(next(&spec, 2, &[]).unwrap(), space::random_point(&spec, 2));
    }
}
