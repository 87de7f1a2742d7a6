//! A trial as a child process: started with its overrides in `LABBOOK_SET`, the sweep's id
//! in `LABBOOK_GROUP` and `sweep.trial=<n>` in `LABBOOK_TAGS`, in a process group of its
//! own (a Ctrl-C at the terminal reaches `labbook sweep`, which passes it on); its run found
//! in the store by that group and tag, or by the child's pid on this host; its result read
//! from the run through [`labbook::store::read`].

use std::collections::HashSet;
use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, ExitStatus, Stdio};

use anyhow::{Context, Result};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde_json::json;

use labbook::store::read::{Point, RunDir, Store};

use super::space;
use super::spec::Spec;
use super::state::{self, Status, Sweep, Trial};

/// A trial being run.
#[derive(Debug)]
pub(crate) struct Running {
    pub trial: Trial,
    child: Child,
    /// Its run, once it has written its info.
    pub run: Option<RunDir>,
    /// Why labbook stopped it (the median rule), if it did.
    pub stopped: Option<String>,
    /// Whether it was told to stop because the sweep was interrupted.
    pub interrupted: bool,
    /// The step of the metric's last point the median rule looked at.
    pub checked_step: Option<u64>,
}

impl Running {
    /// Starts `trial` of `sweep`; its output goes to the sweep's `trial-<n>.log`.
    pub fn start(spec: &Spec, sweep: &Sweep, trial: Trial) -> Result<Running> {
        let log_path = sweep.log(trial.trial);
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let mut tags = format!("sweep.trial={}", trial.trial);
        if let Ok(user) = std::env::var("LABBOOK_TAGS") {
            if !user.trim().is_empty() {
                tags = format!("{user},{tags}");
            }
        }
        let child = Command::new(&spec.program)
            .args(&spec.args)
            .env("LABBOOK_SET", space::overrides(&trial.params))
            .env("LABBOOK_GROUP", &sweep.id)
            .env("LABBOOK_TAGS", tags)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .with_context(|| {
                format!(
                    "cannot start the trial program `{}` (the spec's `program`, relative to {})",
                    spec.program,
                    std::env::current_dir().unwrap_or_default().display()
                )
            })?;
        Ok(Running {
            trial,
            child,
            run: None,
            stopped: None,
            interrupted: false,
            checked_step: None,
        })
    }

    /// The child's exit status, if it has ended.
    pub fn ended(&mut self) -> Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// Sends SIGINT to the child's process group: labbook marks its run `FAILED`
    /// (interrupted) and the program exits.
    pub fn interrupt(&mut self) {
        let group = Pid::from_raw(self.child.id() as i32);
        // A group that is gone has ended already.
        let _ = killpg(group, Signal::SIGINT);
    }

    /// Kills the child's process group at once (a second Ctrl-C).
    pub fn kill(&mut self) {
        let _ = killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
    }

    /// Whether the run of `info` is this trial's: started after the trial was (not an
    /// earlier, interrupted attempt), with the sweep's group and the trial's `sweep.trial`
    /// tag, or by the child's process on this host.
    fn owns(&self, sweep: &Sweep, info: &labbook::Info, host: &str) -> bool {
        if info.start_unix < self.trial.started_unix {
            return false;
        }
        let tagged = info.group.as_deref() == Some(sweep.id.as_str())
            && info.tags.get("sweep.trial") == Some(&self.trial.trial.to_string());
        tagged || (info.pid == self.child.id() && info.host == host)
    }

    /// The trial's state once its child has ended with `status`, its result read from its
    /// run; the run is told why it stopped in `metadata/sweep.json`.
    pub fn finish(self, spec: &Spec, sweep: &Sweep, status: ExitStatus) -> Trial {
        let mut trial = self.trial;
        trial.run = self.run.as_ref().map(|r| r.label().to_owned());
        let last = self.run.as_ref().and_then(|r| last_point(r, &spec.metric));
        trial.value = last.map(|p| p.value);
        trial.step = last.map(|p| p.step);
        // A program that ended on its own just before it was told to stop is complete.
        let complete = status.success() && self.run.is_some() && trial.value.is_some();
        (trial.status, trial.reason) = if complete {
            (Status::Complete, None)
        } else if self.interrupted {
            (Status::Interrupted, Some("interrupted".to_owned()))
        } else if let Some(reason) = self.stopped {
            (Status::Stopped, Some(reason))
        } else if !status.success() {
            let error = self.run.as_ref().and_then(|r| r.info().ok()?.error);
            (
                Status::Failed,
                Some(error.unwrap_or_else(|| format!("the program ended with {status}"))),
            )
        } else if self.run.is_none() {
            (
                Status::Failed,
                Some("the program recorded no run".to_owned()),
            )
        } else {
            (
                Status::Failed,
                Some(format!("the run has no metric `{}`", spec.metric)),
            )
        };
        if let Some(run) = &self.run {
            let note = json!({
                "sweep": sweep.id,
                "trial": trial.trial,
                "params": trial.params,
                "status": trial.status,
                "reason": trial.reason,
            });
            let path = run.path().join("metadata").join("sweep.json");
            if let Err(e) =
                state::write_durably(&path, &serde_json::to_vec_pretty(&note).unwrap_or_default())
            {
                crate::warn(format_args!("trial {}: {e:#}", trial.trial));
            }
        }
        trial
    }
}

/// The last point of `metric` in `run`, by step.
pub(crate) fn last_point(run: &RunDir, metric: &str) -> Option<Point> {
    run.last_point(metric).ok().flatten()
}

/// Finds the runs of running trials, reading each new run's info once.
#[derive(Debug, Default)]
pub(crate) struct Finder {
    seen: HashSet<String>,
}

impl Finder {
    /// Looks for the runs of the trials in `running` that have none yet.
    pub fn find(&mut self, store: &Store, sweep: &Sweep, running: &mut [Running]) {
        if running.iter().all(|r| r.run.is_some()) {
            return;
        }
        let host = state::host();
        for run in store.runs().unwrap_or_default() {
            if self.seen.contains(run.label()) {
                continue;
            }
            // Not yet written: looked at again next time.
            let Ok(info) = run.info() else { continue };
            self.seen.insert(run.label().to_owned());
            if let Some(trial) = running
                .iter_mut()
                .find(|r| r.run.is_none() && r.owns(sweep, &info, &host))
            {
                trial.run = Some(run);
            }
        }
    }
}
