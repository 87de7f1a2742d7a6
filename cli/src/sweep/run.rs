//! Running trials: `parallel` children at a time, each claimed in the shared state first;
//! their runs found, watched for the median rule, and recorded when they end. Ctrl-C (or
//! SIGTERM, as SLURM sends at a time limit) passes SIGINT to every child's process group and
//! waits for them: their runs end `FAILED` (interrupted), their trials `INTERRUPTED`, and the
//! next `labbook sweep run` runs them again. A second Ctrl-C kills them (SIGKILL).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{bail, Result};

use labbook::store::read::{Point, Store};

use super::display::Display;
use super::median;
use super::spec::Spec;
use super::state::{self, Pick, State, Status, Sweep};
use super::trial::{Finder, Running};

/// How often children and their streams are looked at.
const POLL: Duration = Duration::from_millis(200);

/// How many times Ctrl-C, SIGTERM or SIGHUP came.
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

fn interrupted() -> bool {
    SIGNALS.load(Ordering::SeqCst) > 0
}

/// Catches Ctrl-C, SIGTERM and SIGHUP for the sweep (once a process).
fn catch_signals() -> Result<()> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            ctrlc::set_handler(|| {
                SIGNALS.fetch_add(1, Ordering::SeqCst);
            })
            .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| anyhow::anyhow!("cannot catch Ctrl-C to stop the trials cleanly: {e}"))
}

/// How the sweep ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// No trial left to run.
    Done,
    /// Ctrl-C: the trials that ran were stopped, and run again on the next resume.
    Interrupted,
}

/// Runs the trials `pick` finds, `parallel` at a time, until none is left.
pub(crate) fn trials(
    store: &Store,
    spec: &Spec,
    sweep: &Sweep,
    pick: Pick,
    display: &mut Display<'_>,
) -> Result<Outcome> {
    catch_signals()?;
    let parallel = match pick {
        Pick::Next => *spec.parallel.get_ref(),
        Pick::Only(_) => 1,
    };
    let mut running: Vec<Running> = Vec::new();
    let mut finder = Finder::default();
    let mut curves = Curves::default();
    let mut exhausted = false;
    let mut signalled = false;
    let mut killed = false;
    // A trial that could not start stops the sweep as Ctrl-C does, and is the error.
    let mut failure: Option<anyhow::Error> = None;
    let mut shown = State::default();
    loop {
        let stopping = interrupted() || failure.is_some();
        while !stopping && !exhausted && running.len() < parallel {
            let (claimed, state) = sweep.update(|state| {
                let claimed = state::claim(state, spec, pick)?;
                Ok((claimed, snapshot(state)))
            })?;
            let Some(trial) = claimed else {
                exhausted = true;
                break;
            };
            display.started(spec, &state, &trial)?;
            shown = state;
            exhausted = matches!(pick, Pick::Only(_));
            match Running::start(spec, sweep, trial.clone()) {
                Ok(child) => running.push(child),
                Err(error) => {
                    sweep.update(|state| {
                        let entry = state.trials.iter_mut().find(|t| t.trial == trial.trial);
                        if let Some(entry) = entry {
                            (entry.status, entry.reason) =
                                (Status::Interrupted, Some(format!("{error:#}")));
                        }
                        Ok(())
                    })?;
                    failure = Some(error);
                    break;
                }
            }
        }
        if running.is_empty() {
            break;
        }
        if (interrupted() || failure.is_some()) && !signalled {
            display.line(format_args!(
                "interrupted: stopping {} running trial(s)",
                running.len()
            ))?;
            for child in &mut running {
                child.interrupted = true;
                child.interrupt();
            }
            signalled = true;
        }
        if SIGNALS.load(Ordering::SeqCst) > 1 && !killed {
            display.line(format_args!("interrupted again: killing the trials"))?;
            running.iter_mut().for_each(Running::kill);
            killed = true;
        }
        std::thread::sleep(POLL);
        finder.find(store, sweep, &mut running);
        if let Some(rule) = spec.median() {
            let finished = curves.finished(store, sweep, spec)?;
            for child in running
                .iter_mut()
                .filter(|c| c.stopped.is_none() && !c.interrupted)
            {
                let Some(run) = &child.run else { continue };
                let stream = run.metric(&spec.metric).unwrap_or_default();
                let step = stream.last().map(|p| p.step);
                if step.is_none() || step == child.checked_step {
                    continue;
                }
                child.checked_step = step;
                if let Some(reason) =
                    median::verdict(rule, spec.goal, &spec.metric, &stream, &finished)
                {
                    display.line(format_args!(
                        "trial {}: {reason}; stopping it",
                        child.trial.trial
                    ))?;
                    child.stopped = Some(reason);
                    child.interrupt();
                }
            }
        }
        let mut index = 0;
        while index < running.len() {
            let Some(status) = running[index].ended()? else {
                index += 1;
                continue;
            };
            let mut child = running.swap_remove(index);
            if child.run.is_none() {
                finder.find(store, sweep, std::slice::from_mut(&mut child));
            }
            let ended = child.finish(spec, sweep, status);
            let state = sweep.update(|state| {
                state.trials.retain(|t| t.trial != ended.trial);
                state.trials.push(ended.clone());
                Ok(snapshot(state))
            })?;
            display.ended(spec, &state, &ended)?;
            shown = state;
        }
        if display.live() {
            display.progress(spec, &shown, &running)?;
        }
    }
    if let Some(error) = failure {
        return Err(error);
    }
    Ok(if interrupted() {
        Outcome::Interrupted
    } else {
        Outcome::Done
    })
}

/// A copy of the state, sorted, for the display.
fn snapshot(state: &State) -> State {
    let mut trials = state.trials.clone();
    trials.sort_by_key(|t| t.trial);
    State { trials }
}

/// The metric streams of the finished trials, read once each, for the median rule.
#[derive(Debug, Default)]
struct Curves {
    streams: BTreeMap<usize, Vec<Point>>,
}

impl Curves {
    fn finished(&mut self, store: &Store, sweep: &Sweep, spec: &Spec) -> Result<Vec<Vec<Point>>> {
        for trial in sweep.read()?.trials {
            if !trial.status.finished()
                || trial.status == Status::Failed
                || self.streams.contains_key(&trial.trial)
            {
                continue;
            }
            let Some(run) = trial
                .run
                .as_deref()
                .and_then(|label| store.resolve(label).ok())
            else {
                continue;
            };
            self.streams
                .insert(trial.trial, run.metric(&spec.metric).unwrap_or_default());
        }
        Ok(self.streams.values().cloned().collect())
    }
}

/// Fails with how to resume, after an interrupted sweep.
pub(crate) fn resume_hint(outcome: Outcome, command: &str) -> Result<()> {
    match outcome {
        Outcome::Done => Ok(()),
        Outcome::Interrupted => bail!("interrupted; run `{command}` again to resume the sweep"),
    }
}
