//! Runs as the command shows them: found and read through [`labbook::store::read`], with the
//! command's own words for a missing store, and the cells and numbers of its tables.

use std::time::SystemTime;

use anyhow::{anyhow, Result};
use serde_json::Value;

use labbook::store::meta::Info;
use labbook::store::read::{RunDir, State, Store};
use labbook::Error;

/// A run's info and what it means now.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    pub dir: RunDir,
    pub info: Info,
    pub state: State,
}

impl Run {
    pub fn load(dir: &RunDir) -> Result<Run> {
        let info = dir.info()?;
        let state = dir.state_of(&info);
        Ok(Run {
            dir: dir.clone(),
            info,
            state,
        })
    }

    pub fn label(&self) -> &str {
        self.dir.label()
    }

    /// What any rank of the run could not store or send, one line each.
    pub fn problems(&self) -> Vec<String> {
        self.info.problem_lines()
    }

    /// The status as a table shows it: `COMPLETE`, or `COMPLETE (2 problems)` when something
    /// was not stored or sent.
    pub fn status_cell(&self) -> String {
        match self.info.problem_count() {
            0 => self.state.as_str().to_owned(),
            1 => format!("{} (1 problem)", self.state.as_str()),
            n => format!("{} ({n} problems)", self.state.as_str()),
        }
    }

    /// How long the run took, or has taken so far: for a crashed run, until its last
    /// recorded point (`last_point`, if known).
    pub fn duration(&self, last_point: Option<f64>) -> Option<f64> {
        match self.state {
            State::Running => Some(now() - self.info.start_unix),
            State::Crashed => last_point.map(|t| t - self.info.start_unix),
            _ => self.info.duration_s,
        }
    }
}

/// Every run of the store (or of `experiment`).
pub(crate) fn runs(store: &Store, experiment: Option<&str>) -> Result<Vec<RunDir>> {
    let runs = match experiment {
        Some(name) => store.experiment(name),
        None => store.runs(),
    };
    runs.map_err(|e| match e {
        Error::NotAStore { path } => anyhow!(
            "there is no run store at {} (set LABBOOK_DIR or pass --dir)",
            path.display()
        ),
        other => other.into(),
    })
}

/// The run a `RUN` argument names.
pub(crate) fn resolve(store: &Store, arg: &str) -> Result<RunDir> {
    store.resolve(arg).map_err(|e| match e {
        Error::NotAStore { path } => anyhow!(
            "there is no run `{arg}`: no run store at {} (set LABBOOK_DIR or pass --dir)",
            path.display()
        ),
        other => other.into(),
    })
}

/// The runs named by `RUN` arguments, loaded, in order.
pub(crate) fn load_all(store: &Store, args: &[String]) -> Result<Vec<Run>> {
    args.iter()
        .map(|arg| Run::load(&resolve(store, arg)?))
        .collect()
}

pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A config or param value in a table cell: strings bare, numbers as written.
pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A number for `--json` output: non-finite values as the store spells them.
pub(crate) fn json_number(value: f64) -> Value {
    if value.is_finite() {
        Value::from(value)
    } else if value.is_nan() {
        Value::from("NaN")
    } else if value > 0.0 {
        Value::from("Infinity")
    } else {
        Value::from("-Infinity")
    }
}
