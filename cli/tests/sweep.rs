//! `labbook sweep` end to end: the trial program is this test binary re-run on its `child`
//! test, an `#[experiment]` whose `#[config]` comes from `labbook::config` (so the sweep's
//! `LABBOOK_SET` reaches it) and whose `score` is a function of its parameters. Every check
//! reads the runs back through `labbook::store::read`: which trial each run belongs to (its
//! `sweep.trial` tag), its status, its config and its points.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use labbook::prelude::*;
use labbook::store::read::{RunDir, State, Store};
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// The trial program

#[derive(Debug, Serialize, Deserialize)]
struct Hp {
    x: f64,
    y: i64,
    steps: u64,
}

impl Default for Hp {
    fn default() -> Hp {
        Hp {
            x: 0.0,
            y: 1,
            steps: 12,
        }
    }
}

/// What a trial scores with `hp`, at its last step: best at `x = 0.3`, `y = 1`.
fn quality(x: f64, y: i64) -> f64 {
    1.0 - (x - 0.3).powi(2) - 0.1 * (y - 1) as f64
}

#[experiment(name = "probe")]
fn probe(#[config] hp: &Hp) {
    let pause = std::env::var("LABBOOK_TEST_STEP_MS").map_or(0, |ms| ms.parse().unwrap());
    for step in 0..hp.steps {
        std::thread::sleep(Duration::from_millis(pause));
        #[log(metric, step = step)]
        let score = quality(hp.x, hp.y) * (step + 1) as f64 / hp.steps as f64;
    }
}

/// The trial program's body: only with `LABBOOK_TEST_CHILD` set (as the sweeps set it).
#[test]
fn child() {
    if std::env::var_os("LABBOOK_TEST_CHILD").is_some() {
        let hp = labbook::config(Hp::default()).expect("the sweep's overrides apply");
        probe(&hp);
    }
}

// ---------------------------------------------------------------------------------------
// Helpers

/// A folder holding `spec.toml` and the run store `runs/`; `labbook` runs in it.
struct Sweep {
    dir: tempfile::TempDir,
}

impl Sweep {
    /// `body` (metric, goal, method, parameters…) after the program: this binary's `child`.
    fn new(body: &str) -> Sweep {
        let dir = tempfile::tempdir().unwrap();
        let program = std::env::current_exe().unwrap();
        let spec = format!(
            "program = {:?}\nargs = [\"--exact\", \"child\", \"--test-threads\", \"1\"]\n\
             metric = \"score\"\ngoal = \"max\"\n{body}",
            program.to_str().unwrap()
        );
        std::fs::write(dir.path().join("spec.toml"), spec).unwrap();
        Sweep { dir }
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("runs")
    }

    /// `labbook …` in the folder, trials pausing `step_ms` a step.
    fn command(&self, args: &[&str], step_ms: u64) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_labbook"));
        command.args(args).env("LABBOOK_DIR", self.store());
        self.environment(&mut command, step_ms);
        command
    }

    /// The folder, output captured, and the environment of a trial pausing `step_ms` a step.
    fn environment(&self, command: &mut Command, step_ms: u64) {
        command
            .current_dir(self.dir.path())
            .env("LABBOOK_TEST_CHILD", "probe")
            .env("LABBOOK_TEST_STEP_MS", step_ms.to_string())
            .env("LABBOOK_CONSOLE", "off")
            .env_remove("LABBOOK_SET")
            .env_remove("LABBOOK_TAGS")
            .env_remove("LABBOOK_GROUP")
            .env_remove("SLURM_ARRAY_TASK_ID")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for key in support::LAUNCHER_VARIABLES {
            command.env_remove(key);
        }
    }

    /// The generated SLURM script run as an array task would run it.
    fn task(&self, script: &str, id: u64, step_ms: u64) -> Command {
        let mut command = Command::new("bash");
        command.arg(script);
        self.environment(&mut command, step_ms);
        command
            .env("SLURM_ARRAY_TASK_ID", id.to_string())
            .env_remove("LABBOOK_DIR");
        command
    }

    fn labbook(&self, args: &[&str]) -> Output {
        self.command(args, 0).output().unwrap()
    }

    /// The sweep's state as `labbook sweep` wrote it (the only sweep of the store).
    fn state(&self) -> Value {
        let sweeps = self.store().join(".sweeps");
        let Ok(mut entries) = std::fs::read_dir(&sweeps) else {
            return Value::Null;
        };
        let dir = entries.next().unwrap().unwrap().path();
        std::fs::read_to_string(dir.join("state.json"))
            .map_or(Value::Null, |text| serde_json::from_str(&text).unwrap())
    }

    fn statuses(&self) -> BTreeMap<u64, String> {
        let state = self.state();
        let trials = state["trials"].as_array().cloned().unwrap_or_default();
        trials
            .iter()
            .map(|t| {
                (
                    t["trial"].as_u64().unwrap(),
                    t["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Whether a running run of `trial` has logged a score.
    fn logging(&self, trial: u64) -> bool {
        let Ok(runs) = Store::open(self.store()).and_then(|s| s.runs()) else {
            return false;
        };
        runs.iter().any(|run| {
            run.info().is_ok_and(|info| {
                info.tags.get("sweep.trial") == Some(&trial.to_string())
                    && run.state().is_ok_and(|s| s == State::Running)
                    && run.metric("score").is_ok_and(|points| !points.is_empty())
            })
        })
    }

    /// Every run of the store by its `sweep.trial` tag, read through labbook's reader.
    fn runs_by_trial(&self) -> BTreeMap<u64, Vec<RunDir>> {
        let mut by_trial: BTreeMap<u64, Vec<RunDir>> = BTreeMap::new();
        for run in Store::open(self.store()).unwrap().runs().unwrap() {
            let info = run.info().unwrap();
            let trial = info
                .tags
                .get("sweep.trial")
                .expect("a trial's run has its tag");
            by_trial
                .entry(trial.parse().unwrap())
                .or_default()
                .push(run);
        }
        by_trial
    }
}

fn ok(output: Output) -> String {
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn wait(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{what} still running after 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The run's config value `key`, as the run recorded it.
fn config(run: &RunDir, key: &str) -> Value {
    run.config().unwrap().unwrap()[key].clone()
}

/// Runs the sweep, sends SIGINT to `labbook sweep run` once two trials have finished,
/// checks what the interrupted sweep left, resumes it, and checks that every trial ran to
/// the end exactly once and that no trial finished before the interruption ran again.
fn interrupt_and_resume(sweep: &Sweep, trials: u64) {
    let mut first = sweep
        .command(&["sweep", "run", "spec.toml"], 150)
        .spawn()
        .unwrap();
    let start = Instant::now();
    let finished_before = loop {
        let done: Vec<u64> = sweep
            .statuses()
            .into_iter()
            .filter(|(_, s)| s == "COMPLETE")
            .map(|(t, _)| t)
            .collect();
        // Interrupted once the running trials' programs are logging (a SIGINT before a
        // program has started its run stops it before labbook can record anything).
        let statuses = sweep.statuses();
        let running = statuses.iter().filter(|(_, s)| *s == "RUNNING");
        if done.len() >= 2
            && running.clone().count() > 0
            && running.clone().all(|(t, _)| sweep.logging(*t))
        {
            break done;
        }
        assert!(
            first.try_wait().unwrap().is_none(),
            "the sweep ended before two trials had"
        );
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no two trials finished in 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let pid = first.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let status = wait(&mut first, "the interrupted sweep");
    let out = first.wait_with_output().unwrap();
    assert!(!status.success(), "an interrupted sweep fails");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("interrupted; run `labbook sweep run spec.toml` again to resume the sweep"),
        "{stderr}"
    );
    let statuses = sweep.statuses();
    let interrupted: Vec<u64> = statuses
        .iter()
        .filter(|(_, s)| *s == "INTERRUPTED")
        .map(|(t, _)| *t)
        .collect();
    assert!(!interrupted.is_empty(), "{statuses:?}");
    assert!(
        statuses
            .values()
            .all(|s| s == "COMPLETE" || s == "INTERRUPTED"),
        "{statuses:?}"
    );
    // The interrupted trials' runs ended FAILED, as labbook ends an interrupted run.
    for trial in &interrupted {
        let runs = &sweep.runs_by_trial()[trial];
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].state().unwrap(), State::Failed);
        assert_eq!(
            runs[0].info().unwrap().error.as_deref(),
            Some("interrupted")
        );
    }

    let resumed = ok(sweep
        .command(&["sweep", "run", "spec.toml"], 0)
        .output()
        .unwrap());
    for trial in &interrupted {
        assert!(
            resumed.contains(&format!("trial {trial} started again")),
            "{resumed}"
        );
    }
    for trial in &finished_before {
        assert!(
            !resumed.contains(&format!("trial {trial} started")),
            "{resumed}"
        );
    }
    let statuses = sweep.statuses();
    assert_eq!(statuses.len() as u64, trials, "{statuses:?}");
    assert!(statuses.values().all(|s| s == "COMPLETE"), "{statuses:?}");
    let by_trial = sweep.runs_by_trial();
    assert_eq!(by_trial.len() as u64, trials);
    for (trial, runs) in &by_trial {
        let complete: Vec<&RunDir> = runs
            .iter()
            .filter(|r| r.state().unwrap() == State::Complete)
            .collect();
        assert_eq!(complete.len(), 1, "trial {trial}: {runs:?}");
        let expected = if interrupted.contains(trial) { 2 } else { 1 };
        assert_eq!(runs.len(), expected, "trial {trial}: {runs:?}");
        // The run's score is what its overridden config scores.
        let run = complete[0];
        let (x, y) = (
            config(run, "x").as_f64().unwrap(),
            config(run, "y").as_i64().unwrap(),
        );
        let last = run.last_point("score").unwrap().unwrap();
        assert_eq!((last.step, last.value), (11, quality(x, y) * 12.0 / 12.0));
        let info = run.info().unwrap();
        assert!(
            info.group.as_deref().unwrap().starts_with("spec-"),
            "{:?}",
            info.group
        );
    }
}

// ---------------------------------------------------------------------------------------
// Tests

#[test]
fn a_grid_sweep_of_four_is_interrupted_and_resumed_without_repeats() {
    let sweep = Sweep::new(
        "method = \"grid\"\nparallel = 2\n[parameters]\nx = { grid = [0.1, 0.3] }\ny = { grid = [1, 2] }\n",
    );
    interrupt_and_resume(&sweep, 4);
    // Every point of the grid ran once.
    let mut points: Vec<(String, i64)> = sweep
        .runs_by_trial()
        .values()
        .map(|runs| {
            let run = runs
                .iter()
                .find(|r| r.state().unwrap() == State::Complete)
                .unwrap();
            (
                config(run, "x").to_string(),
                config(run, "y").as_i64().unwrap(),
            )
        })
        .collect();
    points.sort();
    assert_eq!(
        points,
        [
            ("0.1".into(), 1),
            ("0.1".into(), 2),
            ("0.3".into(), 1),
            ("0.3".into(), 2)
        ]
    );

    // `show`: sorted by score, the best point ready to paste, and a plot.
    let shown = ok(sweep.labbook(&["sweep", "show", "spec.toml", "-o", "sweep.png"]));
    let lines: Vec<&str> = shown.lines().collect();
    assert!(
        lines[0].starts_with("sweep spec-") && lines[0].ends_with("(4 of 4 trials)"),
        "{shown}"
    );
    assert!(
        lines[1]
            .split_whitespace()
            .eq(["trial", "status", "score", "step", "x", "y", "run"]),
        "{shown}"
    );
    let order: Vec<&str> = lines[2..6]
        .iter()
        .map(|l| l.split_whitespace().nth(4).unwrap())
        .collect();
    assert_eq!(order, ["0.3", "0.1", "0.3", "0.1"], "{shown}");
    assert!(
        shown.contains("\nbest: trial 2, score 1 (probe/"),
        "{shown}"
    );
    assert!(
        shown.contains("\n  LABBOOK_SET=x=0.3,y=1\n  --set x=0.3 --set y=1\n"),
        "{shown}"
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(sweep.dir.path().join("sweep.png")).unwrap(),
    ));
    let info = decoder.read_info().unwrap().info().clone();
    assert_eq!((info.width, info.height), (1400, 900));

    // The sweep's state folder is no experiment.
    let listed = ok(sweep.labbook(&["ls"]));
    assert!(
        listed.contains("probe/") && !listed.contains(".sweeps"),
        "{listed}"
    );
}

#[test]
fn a_random_sweep_of_six_is_interrupted_and_resumed_without_repeats() {
    let sweep = Sweep::new(
        "method = \"random\"\ntrials = 6\nparallel = 2\nseed = 11\n\
         [parameters]\nx = { uniform = [0, 1] }\ny = { int = [1, 3] }\n",
    );
    interrupt_and_resume(&sweep, 6);
    let xs: Vec<f64> = sweep
        .runs_by_trial()
        .values()
        .map(|runs| config(&runs[0], "x").as_f64().unwrap())
        .collect();
    assert!(xs.iter().all(|x| (0.0..1.0).contains(x)), "{xs:?}");
}

#[test]
fn slurm_array_tasks_run_each_trial_exactly_once() {
    let sweep = Sweep::new(
        "method = \"tpe\"\ntrials = 6\nparallel = 3\n\
         [parameters]\nx = { uniform = [0, 1] }\ny = { choice = [1, 2] }\n",
    );
    let written = ok(sweep.labbook(&[
        "sweep",
        "slurm",
        "spec.toml",
        "-o",
        "job.sbatch",
        "--sbatch=--time=00:10:00",
    ]));
    assert!(
        written.contains("submit it with: sbatch job.sbatch"),
        "{written}"
    );
    let script = std::fs::read_to_string(sweep.dir.path().join("job.sbatch")).unwrap();
    assert!(
        script.contains("\n#SBATCH --array=0-5%3\n#SBATCH --output="),
        "{script}"
    );
    assert!(script.contains("\n#SBATCH --time=00:10:00\n"), "{script}");
    // The script's body, as SLURM runs it: every task twice, all at once.
    let mut tasks: Vec<Child> = (0..12)
        .map(|i| sweep.task("job.sbatch", i % 6, 20).spawn().unwrap())
        .collect();
    for task in &mut tasks {
        assert!(wait(task, "an array task").success());
    }
    let skipped = tasks
        .into_iter()
        .map(|t| ok(t.wait_with_output().unwrap()))
        .filter(|out| out.contains("has run or is running elsewhere: nothing to do"))
        .count();
    assert_eq!(skipped, 6);
    let statuses = sweep.statuses();
    assert_eq!(statuses.len(), 6, "{statuses:?}");
    assert!(statuses.values().all(|s| s == "COMPLETE"), "{statuses:?}");
    let by_trial = sweep.runs_by_trial();
    assert_eq!(
        by_trial.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5]
    );
    for (trial, runs) in &by_trial {
        assert_eq!(runs.len(), 1, "trial {trial} ran {} times", runs.len());
        assert_eq!(runs[0].state().unwrap(), State::Complete);
    }
    // A task whose trial is finished does nothing: resubmitting resumes.
    let again = ok(sweep.task("job.sbatch", 3, 0).output().unwrap());
    assert!(
        again.contains("trial 3 has run or is running elsewhere: nothing to do"),
        "{again}"
    );
    assert_eq!(sweep.runs_by_trial()[&3].len(), 1);
}

#[test]
fn the_median_rule_stops_a_trial_worse_than_the_earlier_ones() {
    let sweep = Sweep::new(
        "parallel = 1\nearly_stop = { median = { after = 3, min_step = 2 } }\n\
         [parameters]\nx = { grid = [0.3, 0.35, 0.25, 3.0] }\n",
    );
    let out = ok(sweep
        .command(&["sweep", "run", "spec.toml"], 150)
        .output()
        .unwrap());
    let statuses = sweep.statuses();
    assert_eq!(
        statuses.values().collect::<Vec<_>>(),
        ["COMPLETE", "COMPLETE", "COMPLETE", "STOPPED"]
    );
    let reason = sweep.state()["trials"][3]["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.starts_with("median rule: score -"), "{reason}");
    assert!(
        reason.contains(" is worse than the median ") && reason.ends_with(" of 3 finished trials"),
        "{reason}"
    );
    assert!(
        out.contains(&format!("trial 3: {reason}; stopping it")),
        "{out}"
    );
    // The stopped trial's run ended early, interrupted, and says why in metadata/sweep.json.
    let run = &sweep.runs_by_trial()[&3][0];
    assert_eq!(run.state().unwrap(), State::Failed);
    assert!(run.metric("score").unwrap().len() < 12);
    let note: Value =
        serde_json::from_slice(&std::fs::read(run.path().join("metadata/sweep.json")).unwrap())
            .unwrap();
    assert_eq!(note["status"], "STOPPED");
    assert_eq!(note["reason"].as_str(), Some(reason.as_str()));
    assert_eq!(note["trial"], 3);
}

#[test]
fn spec_errors_name_the_key_and_line() {
    let sweep = Sweep::new("method = \"grid\"\n[parameters]\nx = { uniform = [0, 1] }\n");
    let out = sweep.labbook(&["sweep", "run", "spec.toml"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        "error: in the sweep spec spec.toml: line 7: parameter `x` is a range, and `method = \"grid\"` \
         needs lists: give it as `{ grid = [...] }`, or set `method = \"random\"` or `\"tpe\"`\n"
    );
}

#[test]
fn command_errors_say_what_to_do() {
    let sweep = Sweep::new("[parameters]\nx = { grid = [1, 2] }\n");
    let error = |args: &[&str]| {
        let out = sweep.labbook(args);
        assert!(!out.status.success(), "{args:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let store = sweep.store().display().to_string();
    assert_eq!(
        error(&["sweep", "show", "spec.toml"]),
        format!(
            "error: the sweep of spec.toml has not run in {store}: start it with \
             `labbook sweep run spec.toml`\n"
        )
    );
    assert_eq!(
        error(&["sweep", "task", "spec.toml"]),
        "error: no trial to run: set SLURM_ARRAY_TASK_ID (as SLURM does) or pass --trial\n"
    );
    assert_eq!(
        error(&["sweep", "task", "spec.toml", "--trial", "2"]),
        "error: the sweep has trials 0 to 1; there is no trial 2\n"
    );
    assert!(ok(sweep.labbook(&["sweep", "slurm", "spec.toml"])).contains("(2 trials, 1 at a time)"));
    let id = std::fs::read_dir(sweep.store().join(".sweeps"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let id = id.file_name().into_string().unwrap();
    assert_eq!(
        error(&["sweep", "show", "spec-0"]),
        format!("error: there is no sweep `spec-0` in {store}: it has {id}\n")
    );
}

#[test]
fn a_second_ctrl_c_kills_trials_that_ignore_the_first() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stubborn.toml"),
        "program = \"sh\"\nargs = [\"-c\", \"trap '' INT; echo ready; sleep 60\"]\n\
         metric = \"score\"\ngoal = \"max\"\n[parameters]\nx = { grid = [1] }\n",
    )
    .unwrap();
    let sweep = Sweep { dir };
    let mut first = sweep
        .command(&["sweep", "run", "stubborn.toml"], 0)
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(first.stdout.take().unwrap()));
    let mut next_line = || lines.next().unwrap().unwrap();
    assert!(next_line().starts_with("sweep stubborn-"));
    assert_eq!(next_line(), "trial 0 started: x=1");
    let log = std::fs::read_dir(sweep.store().join(".sweeps"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("trial-0.log");
    // The child has set its trap once it says so.
    while !std::fs::read_to_string(&log).is_ok_and(|text| text.contains("ready")) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = first.id().to_string();
    let sigint = || {
        assert!(Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success())
    };
    sigint();
    assert_eq!(next_line(), "interrupted: stopping 1 running trial(s)");
    sigint();
    assert_eq!(next_line(), "interrupted again: killing the trials");
    assert!(!wait(&mut first, "the sweep").success());
    assert_eq!(sweep.statuses()[&0], "INTERRUPTED");
}
