//! The sweep spec, a TOML file: the program to run, the metric to optimise, the parameters
//! and how to search them. Every error names the key and the line.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use toml::Spanned;

/// A parsed and checked spec.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Spec {
    /// The trial program, a path relative to the folder `labbook sweep` runs in, or a
    /// command on the `PATH`.
    pub program: String,
    /// Arguments every trial gets.
    #[serde(default)]
    pub args: Vec<String>,
    /// The metric a trial is judged by: the last point of that stream.
    pub metric: String,
    pub goal: Goal,
    #[serde(default)]
    pub method: Method,
    /// How many trials: at most the grid's size for `grid` (all of it if unset).
    pub trials: Option<Spanned<usize>>,
    /// How many trials run at once.
    #[serde(default = "one")]
    pub parallel: Spanned<usize>,
    #[serde(default)]
    pub seed: u64,
    pub parameters: BTreeMap<String, Spanned<Parameter>>,
    pub early_stop: Option<EarlyStop>,
}

fn one() -> Spanned<usize> {
    Spanned::new(0..0, 1)
}

/// Whether a higher or a lower metric is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Goal {
    Max,
    Min,
}

impl Goal {
    /// Whether `a` is better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Goal::Max => a > b,
            Goal::Min => a < b,
        }
    }
}

/// How the points are chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Method {
    /// Every combination of the `grid` and `choice` lists, in order.
    #[default]
    Grid,
    /// Independent draws, seeded by `seed` and the trial's number.
    Random,
    /// Tree-structured Parzen estimator over the finished trials.
    Tpe,
}

/// One parameter's values.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Parameter {
    Grid(Vec<Value>),
    Choice(Vec<Value>),
    Uniform([f64; 2]),
    LogUniform([f64; 2]),
    Int([i64; 2]),
}

/// `early_stop = { median = { after = 3, min_step = 0 } }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EarlyStop {
    pub median: Option<Median>,
}

/// The median stopping rule.
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Median {
    /// How many finished trials the median needs before the rule stops any trial.
    #[serde(default = "three")]
    pub after: usize,
    /// No trial is stopped before this step.
    #[serde(default)]
    pub min_step: u64,
}

fn three() -> usize {
    3
}

impl Spec {
    /// Reads and checks the spec at `path`.
    pub fn load(path: &Path) -> Result<Spec> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the sweep spec {}", path.display()))?;
        Spec::parse(&text).with_context(|| format!("in the sweep spec {}", path.display()))
    }

    /// Parses and checks a spec's text.
    pub fn parse(text: &str) -> Result<Spec> {
        let spec: Spec =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))?;
        spec.check(text)?;
        Ok(spec)
    }

    fn check(&self, text: &str) -> Result<()> {
        let line = |span: std::ops::Range<usize>| {
            text[..span.start.min(text.len())].matches('\n').count() + 1
        };
        if self.parameters.is_empty() {
            bail!("`[parameters]` is empty: give at least one, like `lr = {{ log_uniform = [1e-4, 1e-1] }}`");
        }
        if *self.parallel.get_ref() == 0 {
            bail!(
                "line {}: `parallel` is at least 1",
                line(self.parallel.span())
            );
        }
        for (name, parameter) in &self.parameters {
            let at = line(parameter.span());
            match parameter.get_ref() {
                Parameter::Grid(values) | Parameter::Choice(values) if values.is_empty() => {
                    bail!("line {at}: parameter `{name}` has no values: list at least one")
                }
                Parameter::Uniform([a, b]) if a.partial_cmp(b) != Some(std::cmp::Ordering::Less) => {
                    bail!("line {at}: parameter `{name}`: `uniform = [low, high]` needs low < high, not [{a}, {b}]")
                }
                Parameter::LogUniform([a, b]) if !(0.0 < *a && a < b) => bail!(
                    "line {at}: parameter `{name}`: `log_uniform = [low, high]` needs 0 < low < high, not [{a}, {b}]"
                ),
                Parameter::Int([a, b]) if a > b => {
                    bail!("line {at}: parameter `{name}`: `int = [low, high]` needs low <= high, not [{a}, {b}]")
                }
                Parameter::Uniform(_) | Parameter::LogUniform(_) | Parameter::Int(_)
                    if self.method == Method::Grid =>
                {
                    bail!(
                        "line {at}: parameter `{name}` is a range, and `method = \"grid\"` needs lists: \
                         give it as `{{ grid = [...] }}`, or set `method = \"random\"` or `\"tpe\"`"
                    )
                }
                _ => {}
            }
        }
        match (&self.trials, self.method) {
            (None, Method::Random | Method::Tpe) => {
                bail!("`trials` is missing: a `random` or `tpe` sweep needs a number of trials, like `trials = 20`")
            }
            (Some(trials), _) if *trials.get_ref() == 0 => {
                bail!("line {}: `trials` is at least 1", line(trials.span()))
            }
            _ => Ok(()),
        }
    }

    /// How many points the `grid` and `choice` lists make together.
    pub fn grid_size(&self) -> usize {
        self.parameters
            .values()
            .map(|p| match p.get_ref() {
                Parameter::Grid(values) | Parameter::Choice(values) => values.len(),
                _ => 1,
            })
            .product()
    }

    /// How many trials the sweep has.
    pub fn trial_count(&self) -> usize {
        let grid = self.grid_size();
        match (self.method, &self.trials) {
            (Method::Grid, Some(trials)) => grid.min(*trials.get_ref()),
            (Method::Grid, None) => grid,
            (_, trials) => trials.as_ref().map_or(0, |t| *t.get_ref()),
        }
    }

    /// The median rule, if the spec asks for it.
    pub fn median(&self) -> Option<Median> {
        self.early_stop.as_ref().and_then(|e| e.median)
    }

    /// What makes two specs the same sweep: program, arguments, metric, goal, method, seed
    /// and parameters (not `trials`, `parallel` or `early_stop`, which may change on a rerun).
    pub fn identity(&self) -> String {
        let parameters: BTreeMap<&String, &Parameter> = self
            .parameters
            .iter()
            .map(|(k, v)| (k, v.get_ref()))
            .collect();
        serde_json::json!([
            self.program,
            self.args,
            self.metric,
            self.goal,
            self.method,
            self.seed,
            parameters
        ])
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        format!("{:#}", Spec::parse(text).unwrap_err())
    }

    const BASE: &str = "program = \"p\"\nmetric = \"acc\"\ngoal = \"max\"\n";

    #[test]
    fn a_full_spec_parses() {
        let spec = Spec::parse(&format!(
            "{BASE}method = \"tpe\"\ntrials = 8\nparallel = 2\nseed = 7\n\
             early_stop = {{ median = {{ after = 2 }} }}\n[parameters]\n\
             lr = {{ log_uniform = [1e-4, 1e-1] }}\nbatch = {{ choice = [32, 64] }}\n\
             depth = {{ int = [1, 4] }}\nlayers = {{ grid = [[64, 32], [128]] }}\n"
        ))
        .unwrap();
        assert_eq!(spec.trial_count(), 8);
        assert_eq!(spec.median().unwrap().after, 2);
        assert_eq!(*spec.parallel.get_ref(), 2);
    }

    #[test]
    fn the_mnist_example_spec_parses() {
        let spec = Spec::parse(include_str!("../../../examples/mnist/sweep.toml")).unwrap();
        assert_eq!((spec.trial_count(), spec.method), (8, Method::Tpe));
        assert_eq!(
            spec.parameters.keys().collect::<Vec<_>>(),
            ["batch_size", "lr"]
        );
    }

    #[test]
    fn errors_name_the_key_and_the_line() {
        let goal = error("program = \"p\"\nmetric = \"acc\"\ngoal = \"maxx\"\n[parameters]\nx = { grid = [1] }\n");
        assert!(goal.contains("line 3"), "{goal}");
        assert!(
            goal.contains("unknown variant `maxx`, expected `max` or `min`"),
            "{goal}"
        );
        let kind = error(&format!("{BASE}[parameters]\nx = {{ normal = [0, 1] }}\n"));
        assert!(
            kind.contains("line 5") && kind.contains("unknown variant `normal`"),
            "{kind}"
        );
        let key = error(&format!(
            "{BASE}trails = 3\n[parameters]\nx = {{ grid = [1] }}\n"
        ));
        assert!(key.contains("unknown field `trails`"), "{key}");
        assert_eq!(
            error(&format!("{BASE}method = \"random\"\ntrials = 2\n[parameters]\n\nx = {{ uniform = [1, 0] }}\n")),
            "line 8: parameter `x`: `uniform = [low, high]` needs low < high, not [1, 0]"
        );
        assert_eq!(
            error(&format!("{BASE}[parameters]\nx = {{ uniform = [0, 1] }}\n")),
            "line 5: parameter `x` is a range, and `method = \"grid\"` needs lists: give it as \
             `{ grid = [...] }`, or set `method = \"random\"` or `\"tpe\"`"
        );
        assert_eq!(
            error(&format!("{BASE}method = \"random\"\n[parameters]\nx = {{ grid = [1] }}\n")),
            "`trials` is missing: a `random` or `tpe` sweep needs a number of trials, like `trials = 20`"
        );
    }
}
