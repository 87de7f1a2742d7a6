//! The search space: a trial's point for `grid` and `random` sweeps (a function of the
//! spec and the trial's number alone, so any process finds the same point), and a point as
//! the overrides a trial program reads (`LABBOOK_SET="lr=0.01,layers=[64,32]"`).

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::Value;

use super::spec::{Method, Parameter, Spec};

/// A trial's parameters, by name.
pub(crate) type Point = BTreeMap<String, Value>;

/// The point of trial `trial` of a `grid` or `random` sweep.
pub(crate) fn point(spec: &Spec, trial: usize) -> Point {
    match spec.method {
        Method::Grid => grid_point(spec, trial),
        Method::Random | Method::Tpe => random_point(spec, trial),
    }
}

/// The `trial`th combination, the last parameter (by name) varying fastest.
fn grid_point(spec: &Spec, trial: usize) -> Point {
    let mut rest = trial;
    let mut point = Point::new();
    for (name, parameter) in spec.parameters.iter().rev() {
        if let Parameter::Grid(values) | Parameter::Choice(values) = parameter.get_ref() {
            point.insert(name.clone(), values[rest % values.len()].clone());
            rest /= values.len();
        }
    }
    point
}

/// A random generator for trial `trial`, the same in every process.
pub(crate) fn rng(spec: &Spec, trial: usize) -> StdRng {
    StdRng::seed_from_u64(spec.seed ^ (trial as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Independent draws, one per parameter.
pub(crate) fn random_point(spec: &Spec, trial: usize) -> Point {
    let mut rng = rng(spec, trial);
    spec.parameters
        .iter()
        .map(|(name, parameter)| (name.clone(), draw(parameter.get_ref(), &mut rng)))
        .collect()
}

/// One value of `parameter`, drawn uniformly (on a log scale for `log_uniform`).
pub(crate) fn draw(parameter: &Parameter, rng: &mut StdRng) -> Value {
    match parameter {
        Parameter::Grid(values) | Parameter::Choice(values) => {
            values[rng.random_range(0..values.len())].clone()
        }
        Parameter::Uniform([a, b]) => Value::from(rng.random_range(*a..*b)),
        Parameter::LogUniform([a, b]) => Value::from(rng.random_range(a.ln()..b.ln()).exp()),
        Parameter::Int([a, b]) => Value::from(rng.random_range(*a..=*b)),
    }
}

/// A value as an override's text: strings bare, everything else as JSON (`[64,32]`, `0.01`).
pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `lr=0.01,layers=[64,32]`: the point as `LABBOOK_SET` takes it.
pub(crate) fn overrides(point: &Point) -> String {
    point
        .iter()
        .map(|(k, v)| format!("{k}={}", text(v)))
        .collect::<Vec<_>>()
        .join(",")
}

/// A value in a table: floats to five significant digits.
pub(crate) fn short(value: &Value) -> String {
    match value {
        Value::Number(n) if n.is_f64() => crate::table::number(n.as_f64().unwrap_or(f64::NAN)),
        other => text(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(text: &str) -> Spec {
        Spec::parse(&format!(
            "program = \"p\"\nmetric = \"m\"\ngoal = \"min\"\n{text}"
        ))
        .unwrap()
    }

    #[test]
    fn a_grid_is_every_combination_once() {
        let spec =
            spec("[parameters]\na = { grid = [1, 2] }\nb = { choice = [\"x\", \"y\", \"z\"] }\n");
        assert_eq!(spec.grid_size(), 6);
        assert_eq!(spec.trial_count(), 6);
        let points: Vec<Point> = (0..6).map(|t| point(&spec, t)).collect();
        assert_eq!(
            points[0],
            Point::from([("a".into(), json!(1)), ("b".into(), json!("x"))])
        );
        assert_eq!(
            points[5],
            Point::from([("a".into(), json!(2)), ("b".into(), json!("z"))])
        );
        for (i, p) in points.iter().enumerate() {
            assert!(!points[..i].contains(p), "{p:?} twice");
        }
    }

    #[test]
    fn random_points_are_in_range_and_the_same_for_the_same_trial() {
        let spec = spec(
            "method = \"random\"\ntrials = 50\nseed = 3\n[parameters]\n\
             lr = { log_uniform = [1e-4, 1e-1] }\nx = { uniform = [-1, 1] }\nn = { int = [2, 4] }\n",
        );
        let mut ns = std::collections::BTreeSet::new();
        for trial in 0..50 {
            let p = point(&spec, trial);
            assert_eq!(p, point(&spec, trial));
            let lr = p["lr"].as_f64().unwrap();
            assert!((1e-4..1e-1).contains(&lr), "{lr}");
            assert!((-1.0..1.0).contains(&p["x"].as_f64().unwrap()));
            ns.insert(p["n"].as_i64().unwrap());
        }
        assert_eq!(ns.into_iter().collect::<Vec<_>>(), [2, 3, 4]);
        assert_ne!(point(&spec, 0), point(&spec, 1));
    }

    #[test]
    fn overrides_keep_lists_whole() {
        let point = Point::from([
            ("layers".into(), json!([64, 32])),
            ("lr".into(), json!(0.01)),
            ("opt".into(), json!("adam")),
        ]);
        assert_eq!(overrides(&point), "layers=[64,32],lr=0.01,opt=adam");
        assert_eq!(short(&json!(0.012345678)), "0.012346");
        assert_eq!(short(&json!([64, 32])), "[64,32]");
    }
}
