//! What `labbook sweep run` shows while it runs: on a terminal, a table of the trials
//! (trial, params, status, metric, best so far) redrawn in place on each change; otherwise
//! one line per trial started or ended, for a log file.

use std::io::{self, Write};

use super::space;
use super::spec::Spec;
use super::state::{State, Status, Trial};
use super::trial::{last_point, Running};
use crate::table::{number, Table};

/// Writes the sweep's progress to `out`.
pub(crate) struct Display<'a> {
    out: &'a mut dyn Write,
    /// Redraw in place (a terminal) rather than print lines.
    live: bool,
    /// Lines of the last table drawn, to move back over.
    drawn: usize,
    /// The metric column of the last table drawn.
    values: Vec<Option<f64>>,
}

impl std::fmt::Debug for Display<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Display").field("live", &self.live).finish()
    }
}

impl<'a> Display<'a> {
    pub fn new(out: &'a mut dyn Write, live: bool) -> Display<'a> {
        Display {
            out,
            live,
            drawn: 0,
            values: Vec::new(),
        }
    }

    pub fn line(&mut self, text: std::fmt::Arguments<'_>) -> io::Result<()> {
        if self.live {
            self.clear()?;
        }
        writeln!(self.out, "{text}")
    }

    /// A trial has started.
    pub fn started(&mut self, spec: &Spec, state: &State, trial: &Trial) -> io::Result<()> {
        if self.live {
            return self.table(spec, state);
        }
        let again = if trial.attempts > 1 { " again" } else { "" };
        writeln!(
            self.out,
            "trial {} started{again}: {}",
            trial.trial,
            space::overrides(&trial.params)
        )?;
        self.out.flush()
    }

    /// A trial has ended; `state` holds it.
    pub fn ended(&mut self, spec: &Spec, state: &State, trial: &Trial) -> io::Result<()> {
        if self.live {
            return self.table(spec, state);
        }
        let value = trial.value.map_or("-".to_owned(), number);
        let run = trial.run.as_deref().unwrap_or("no run");
        let best = best(spec, state).map_or("-".to_owned(), |b| {
            format!("{} (trial {})", number(b.1), b.0)
        });
        let reason = trial
            .reason
            .as_deref()
            .map_or(String::new(), |r| format!(" ({r})"));
        writeln!(
            self.out,
            "trial {} {}{reason}: {} {value} [{run}], best {best}",
            trial.trial,
            trial.status.as_str(),
            spec.metric,
        )?;
        self.out.flush()
    }

    /// Whether the table is redrawn in place.
    pub fn live(&self) -> bool {
        self.live
    }

    /// Redraws the table with the running trials' latest values, when one has changed.
    pub fn progress(&mut self, spec: &Spec, state: &State, running: &[Running]) -> io::Result<()> {
        let mut view = State {
            trials: state.trials.clone(),
        };
        for child in running {
            let latest = child.run.as_ref().and_then(|r| last_point(r, &spec.metric));
            if let Some(trial) = view
                .trials
                .iter_mut()
                .find(|t| t.trial == child.trial.trial)
            {
                (trial.value, trial.step) = (latest.map(|p| p.value), latest.map(|p| p.step));
                trial.run = child.run.as_ref().map(|r| r.label().to_owned());
            }
        }
        let values: Vec<Option<f64>> = view.trials.iter().map(|t| t.value).collect();
        if values != self.values {
            self.values = values;
            self.table(spec, &view)?;
        }
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        if self.drawn > 0 {
            write!(self.out, "\x1b[{}A\x1b[J", self.drawn)?;
            self.drawn = 0;
        }
        Ok(())
    }

    fn table(&mut self, spec: &Spec, state: &State) -> io::Result<()> {
        let mut text = Vec::new();
        table(spec, state).write(&mut text)?;
        self.clear()?;
        self.drawn = text.iter().filter(|&&b| b == b'\n').count();
        self.out.write_all(&text)?;
        self.out.flush()
    }
}

/// The trials in order, each with the best value up to it.
pub(crate) fn table(spec: &Spec, state: &State) -> Table {
    let mut table = Table::new([
        "trial",
        "params",
        "status",
        spec.metric.as_str(),
        "best so far",
        "run",
    ]);
    table.align_right(0);
    table.align_right(3);
    table.align_right(4);
    let mut best: Option<f64> = None;
    for trial in &state.trials {
        if let (Some(v), true) = (trial.value, trial.status.finished()) {
            if best.is_none_or(|b| spec.goal.better(v, b)) {
                best = Some(v);
            }
        }
        let params: Vec<String> = trial
            .params
            .iter()
            .map(|(k, v)| format!("{k}={}", space::short(v)))
            .collect();
        table.push(vec![
            trial.trial.to_string(),
            params.join(" "),
            trial.status.as_str().to_owned(),
            trial.value.map_or("-".to_owned(), number),
            best.map_or("-".to_owned(), number),
            trial.run.clone().unwrap_or_default(),
        ]);
    }
    table
}

/// The best finished trial's number and value.
pub(crate) fn best(spec: &Spec, state: &State) -> Option<(usize, f64)> {
    state
        .trials
        .iter()
        .filter(|t| t.status == Status::Complete || t.status == Status::Stopped)
        .filter_map(|t| Some((t.trial, t.value?)))
        .filter(|(_, v)| v.is_finite())
        .reduce(|a, b| if spec.goal.better(b.1, a.1) { b } else { a })
}
