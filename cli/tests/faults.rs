//! Fault injection: each test breaks something on purpose (a file the file system refuses, a
//! backend that panics, a writer thread that dies, a full disk, SIGKILL at random instants)
//! and then checks, byte by byte with labbook's own reader and the `labbook` command, that
//! nothing acknowledged was lost and that every loss is recorded in the run's problems.
//!
//! Children are this test binary re-run on `child` with `LABBOOK_TEST_CHILD` set.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use labbook::backend::{Backend, BackendError, RunContext, RunEnd};
use labbook::prelude::*;
use labbook::store::jsonl;
use labbook::{Record, Status};
use support::{info, runs, steps, store};

// ---------------------------------------------------------------------------------------
// Helpers

/// Aborts the whole test binary if a test is still running after `secs`: a hang is the
/// failure these tests look for, and it must fail rather than wait forever.
struct Watchdog(Arc<AtomicBool>);

fn watchdog(what: &'static str, secs: u64) -> Watchdog {
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(secs) {
            if flag.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{what} still running after {secs} s: the training thread is blocked");
        std::process::abort();
    });
    Watchdog(done)
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The `labbook` command on the test's store.
fn labbook(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_labbook"))
        .args(args)
        .env("LABBOOK_DIR", store())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "labbook {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The line of `labbook ls <experiment>` for `run` (`experiment/id`).
fn ls_line(experiment: &str, run: &str) -> String {
    let out = labbook(&["ls", experiment]);
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(run))
        .unwrap_or_else(|| panic!("{run} not in:\n{out}"))
        .to_owned()
}

fn label(dir: &Path) -> String {
    let id = dir.file_name().unwrap().to_str().unwrap();
    let experiment = dir.parent().unwrap().file_name().unwrap().to_str().unwrap();
    format!("{experiment}/{id}")
}

fn spawn_child(kind: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child", "--test-threads", "1", "--nocapture"])
        .env("LABBOOK_TEST_CHILD", kind)
        .env("LABBOOK_DIR", store())
        .env("LABBOOK_CONSOLE", "off")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for key in [
        "LABBOOK_RUN_ID",
        "SLURM_JOB_ID",
        "RANK",
        "WORLD_SIZE",
        "PMIX_NAMESPACE",
    ] {
        command.env_remove(key);
    }
    command
}

/// The body of every child process.
#[test]
fn child() {
    match std::env::var("LABBOOK_TEST_CHILD").as_deref() {
        Ok("killed") => {
            let resume = std::env::var("LABBOOK_TEST_RESUME")
                .ok()
                .map(|id| id.parse().unwrap());
            killed(resume);
        }
        Ok("disk_full") => disk_full(),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// One stream the file system refuses

#[experiment(name = "refused")]
fn refused() -> PathBuf {
    let dir = run().dir().unwrap().to_owned();
    // A file where the folder of `blocked/loss` would go: that stream cannot be created.
    std::fs::write(dir.join("metrics/blocked"), "in the way").unwrap();
    for step in 0..3000u64 {
        run().log_metric("blocked/loss", step, 1.0).unwrap();
        #[log(metric, step = step)]
        let loss = step as f64;
        #[log(text, step = step)]
        let note = format!("step {step}");
    }
    dir
}

#[test]
fn a_stream_the_file_system_refuses_loses_only_its_own_points() {
    store();
    let dir = refused();
    assert_eq!(steps(&dir, "loss"), (0..3000).collect::<Vec<_>>());
    let notes = jsonl::read_texts(&dir.join("text/note.jsonl")).unwrap();
    assert_eq!(notes.points.len(), 3000);
    let info = info(&dir);
    assert_eq!(info.status, Status::Complete);
    let problem = &info.problems.streams["metrics/blocked/loss.jsonl"];
    assert_eq!(problem.lost, 3000, "{problem:?}");
    assert!(problem
        .error
        .contains("cannot write metrics/blocked/loss.jsonl"));
    let line = ls_line("refused", &label(&dir));
    assert!(line.contains("COMPLETE (1 problem)"), "{line}");
    let show = labbook(&["show", &label(&dir)]);
    assert!(
        show.contains("stream `metrics/blocked/loss.jsonl`: 3000 record(s) not stored"),
        "{show}"
    );
}

#[test]
fn a_name_too_long_for_a_file_name_is_refused_with_the_reason() {
    store();
    for name in ["ö".repeat(128), "x".repeat(250)] {
        let err = labbook::check_name(&name).unwrap_err().to_string();
        assert!(err.contains("at most 234 bytes"), "{err}");
    }
}

#[experiment(name = "same_but_case")]
fn same_but_case() -> PathBuf {
    for step in 0..10u64 {
        run().log_metric("loss", step, 1.0).unwrap();
        run().log_metric("Loss", step, 2.0).unwrap();
        let negative = step as i64 - 5;
        #[log(metric, step = negative)]
        let shifted = 3.0;
    }
    run().dir().unwrap().to_owned()
}

#[test]
fn names_that_differ_only_in_case_and_negative_steps_are_refused_and_counted() {
    store();
    let dir = same_but_case();
    assert_eq!(steps(&dir, "loss"), (0..10).collect::<Vec<_>>());
    assert!(!dir.join("metrics/Loss.jsonl").exists());
    assert_eq!(steps(&dir, "shifted"), (0..5).collect::<Vec<_>>());
    let info = info(&dir);
    let case = &info.problems.streams["metrics/Loss.jsonl"];
    assert_eq!(case.lost, 10);
    assert!(case
        .error
        .contains("differs from `metrics/loss.jsonl` only in letter case"));
    let negative = &info.problems.sites["shifted"];
    assert_eq!(negative.lost, 5);
    assert!(
        negative.error.contains("`step = ...` was -5"),
        "{negative:?}"
    );
}

// ---------------------------------------------------------------------------------------
// A backend that panics

/// Panics where the experiment's name says: on its first write, on a later write, or when
/// the run finishes. Other experiments do not get it.
struct Panics {
    on_write: Option<usize>,
    on_finish: bool,
    writes: usize,
}

impl Backend for Panics {
    fn write(&mut self, _batch: &[Record]) -> Result<(), BackendError> {
        self.writes += 1;
        if Some(self.writes) == self.on_write {
            panic!("injected panic on write {}", self.writes);
        }
        Ok(())
    }

    fn finish(&mut self, _end: &RunEnd) -> Result<(), BackendError> {
        if self.on_finish {
            panic!("injected panic in finish");
        }
        Ok(())
    }
}

fn panics(run: &RunContext) -> Result<Option<Box<dyn Backend>>, BackendError> {
    let (on_write, on_finish) = match run.experiment.as_str() {
        "panics_first" => (Some(1), false),
        "panics_later" => (Some(3), false),
        "panics_in_finish" => (None, true),
        _ => return Ok(None),
    };
    Ok(Some(Box::new(Panics {
        on_write,
        on_finish,
        writes: 0,
    })))
}

// Named to sort before `local`: backends used to run in name order on one thread.
labbook::register_backend!("a-panicking-backend", panics);

fn log_a_while() -> PathBuf {
    for step in 0..30_000u64 {
        run().log_metric("loss", step, step as f64).unwrap();
        if step % 10_000 == 0 {
            run().flush().unwrap();
        }
    }
    run().flush().unwrap();
    run().dir().unwrap().to_owned()
}

#[experiment(name = "panics_first")]
fn panics_first() -> PathBuf {
    log_a_while()
}

#[experiment(name = "panics_later")]
fn panics_later() -> PathBuf {
    log_a_while()
}

#[experiment(name = "panics_in_finish")]
fn panics_in_finish() -> PathBuf {
    log_a_while()
}

#[test]
fn a_backend_that_panics_is_switched_off_and_the_run_directory_has_everything() {
    store();
    let _guard = watchdog("a run with a panicking backend", 120);
    for (run, disabled) in [
        (panics_first as fn() -> PathBuf, true),
        (panics_later, true),
        (panics_in_finish, false),
    ] {
        let dir = run();
        assert_eq!(steps(&dir, "loss"), (0..30_000).collect::<Vec<_>>());
        let info = info(&dir);
        assert_eq!(info.status, Status::Complete);
        let problem = &info.problems.backends["a-panicking-backend"];
        assert_eq!(problem.disabled, disabled, "{problem:?}");
        assert!(problem.error.contains("injected panic"), "{problem:?}");
        let line = ls_line(&info.experiment, &label(&dir));
        assert!(line.contains("COMPLETE (1 problem)"), "{line}");
    }
}

// ---------------------------------------------------------------------------------------
// A writer thread that dies

#[experiment(name = "dead_writer")]
fn dead_writer() -> PathBuf {
    for step in 0..10u64 {
        #[log(metric, step = step)]
        let loss = step as f64;
    }
    run().flush().unwrap();
    labbook::__private::crash_writer(&run());
    // More than the queue holds: a full queue must not wait for a writer that is gone.
    for step in 10..100_010u64 {
        #[log(metric, step = step)]
        let loss = step as f64;
    }
    run().flush().unwrap();
    #[log(checkpoint, name = "counter", step = 1)]
    &7u32;
    run().dir().unwrap().to_owned()
}

#[test]
fn a_dead_writer_never_blocks_the_training_thread_and_every_lost_point_is_counted() {
    store();
    let _guard = watchdog("a run whose writer died", 60);
    let dir = dead_writer();
    assert_eq!(steps(&dir, "loss"), (0..10).collect::<Vec<_>>());
    let info = info(&dir);
    assert_eq!(info.status, Status::Complete);
    assert_eq!(
        info.problems.streams["loss"].lost, 100_000,
        "{:?}",
        info.problems
    );
    assert!(info.problems.backends["local"]
        .error
        .contains("writer thread panicked"));
}

// ---------------------------------------------------------------------------------------
// A full disk

const DISK_FULL_POINTS: u64 = 5000;

#[experiment(name = "disk_full")]
fn disk_full() {
    for step in 0..DISK_FULL_POINTS {
        #[log(metric, step = step)]
        let loss = step as f64 / 3.0;
        if step % 50 == 0 {
            run().flush().unwrap();
        }
    }
    #[log(metric)]
    let after = 1.0;
}

/// The largest file the child may write, in KiB (`ulimit -f`), with SIGXFSZ ignored so
/// that writes past it fail with `EFBIG` as on a full disk.
const FILE_LIMIT_KIB: u64 = 64;

#[test]
fn a_full_disk_never_leaves_a_partial_line_and_counts_what_it_lost() {
    store();
    let before = runs("disk_full").len();
    let exe = std::env::current_exe().unwrap();
    let command = spawn_child("disk_full");
    let script = format!(
        "trap '' XFSZ; ulimit -f {FILE_LIMIT_KIB}; exec \"$0\" --exact child --test-threads 1"
    );
    let program = command.get_program().to_owned();
    assert_eq!(program, exe);
    let status = Command::new("bash")
        .args(["-c", &script])
        .arg(&exe)
        .envs(command.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
    let all = runs("disk_full");
    assert_eq!(all.len(), before + 1);
    let dir = all.last().unwrap();

    let path = dir.join("metrics/loss.jsonl");
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() as u64 <= FILE_LIMIT_KIB * 1024);
    assert_eq!(bytes.last(), Some(&b'\n'), "the file ends mid-line");
    let stream = jsonl::read_scalars(&path).unwrap();
    assert!(stream.warning.is_none(), "{:?}", stream.warning);
    let stored = stream.points.len() as u64;
    assert!(stored > 100 && stored < DISK_FULL_POINTS, "{stored}");
    let kept: Vec<u64> = stream.points.iter().map(|p| p.step).collect();
    assert_eq!(kept, (0..stored).collect::<Vec<_>>());
    // Training went on: the stream logged after the disk filled up is there.
    assert_eq!(steps(dir, "after"), [0]);

    let info = info(dir);
    assert_eq!(info.status, Status::Complete);
    let problem = &info.problems.streams["metrics/loss.jsonl"];
    assert_eq!(stored + problem.lost, DISK_FULL_POINTS, "{problem:?}");
    assert!(problem.error.contains("cannot write metrics/loss.jsonl"));
    let line = ls_line("disk_full", &label(dir));
    assert!(line.contains("COMPLETE (1 problem)"), "{line}");
}

// ---------------------------------------------------------------------------------------
// SIGKILL at random instants

const KILLED_STEPS: u64 = 300;

#[derive(Serialize, Deserialize, Default)]
struct Model {
    step: u64,
    weights: Vec<f64>,
}

#[experiment(name = "killed", resume = resume)]
fn killed(resume: Option<u64>) {
    let mut model = Model::default();
    let first = run()
        .restore(&mut model)
        .expect("a consistent checkpoint")
        .map_or(0, |step| step + 1);
    assert!(
        model.weights.iter().all(|w| *w == model.step as f64),
        "the restored model is not the one of its step"
    );
    for step in first..KILLED_STEPS {
        model = Model {
            step,
            weights: vec![step as f64; 2048],
        };
        #[log(metric, step = step)]
        let loss = 1.0 / (step + 1) as f64;
        #[log(text, step = step)]
        let note = format!("step {step}");
        #[log(histogram, step = step)]
        let weights = [step as f64, 1.0, 2.0];
        if step % 20 == 0 {
            #[log(image, name = "picture", step = step)]
            Image::grey(2, 2, vec![step as u8; 4]).unwrap();
            #[log(checkpoint, step = step, keep = 2)]
            &model;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The steps of one stream, checked to be whole lines (a torn last line at most).
fn stream_steps(dir: &Path, file: &str) -> Vec<u64> {
    let path = dir.join(file);
    if !path.exists() {
        return Vec::new();
    }
    let steps = if file.starts_with("metrics/") {
        jsonl::read_scalars(&path).map(|s| s.points.iter().map(|p| p.step).collect())
    } else if file.starts_with("text/") {
        jsonl::read_texts(&path).map(|s| s.points.iter().map(|p| p.0).collect())
    } else {
        jsonl::read_histograms(&path).map(|s| s.points.iter().map(|p| p.0).collect())
    };
    steps.unwrap_or_else(|e| panic!("{} is broken: {e}", path.display()))
}

const KILLED_STREAMS: [&str; 3] = [
    "metrics/loss.jsonl",
    "text/note.jsonl",
    "histograms/weights.jsonl",
];

/// Whether a checkpoint finished: its sidecar (`*.meta.json`) was renamed into place.
fn has_sidecar(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            let path = entry.path();
            // A sidecar still under its temporary name (`*.tmp.<pid>.meta.json`) does not count.
            let name = entry.file_name().to_string_lossy().into_owned();
            path.is_dir() && has_sidecar(&path)
                || name.ends_with(".meta.json") && !name.contains(".tmp.")
        })
}

/// A small deterministic generator for the kill instants.
fn instants(n: usize) -> Vec<Duration> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            Duration::from_millis(5 + state % 450)
        })
        .collect()
}

#[test]
fn sigkill_at_random_instants_never_tears_a_stream_and_resume_completes_every_step_once() {
    store();
    let mut resumed = 0;
    for (trial, delay) in instants(50).into_iter().enumerate() {
        let before = runs("killed").len();
        let mut process = spawn_child("killed").spawn().unwrap();
        std::thread::sleep(delay);
        let _ = process.kill();
        // A child that ended on its own before the kill exited successfully.
        let finished_first = process.wait().unwrap().success();
        let all = runs("killed");
        if all.len() == before {
            continue; // killed before its run directory existed
        }
        let dir = all.last().unwrap().clone();
        let context = format!("trial {trial}, killed after {delay:?}, {}", dir.display());

        for file in KILLED_STREAMS {
            let steps = stream_steps(&dir, file);
            assert_eq!(
                steps,
                (0..steps.len() as u64).collect::<Vec<_>>(),
                "{context}: {file}"
            );
        }
        if dir.join("metadata/info.json").exists() {
            let line = ls_line("killed", &label(&dir));
            let expected = if finished_first {
                "COMPLETE"
            } else {
                "CRASHED"
            };
            assert!(line.contains(expected), "{context}: {line}");
        }
        if finished_first {
            continue;
        }

        if !has_sidecar(&dir.join("checkpoints")) {
            continue; // killed before the first checkpoint: there is nothing to resume from
        }
        let id = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let status = spawn_child("killed")
            .env("LABBOOK_TEST_RESUME", &id)
            .status()
            .unwrap();
        assert!(status.success(), "{context}: the resume failed");
        resumed += 1;
        assert_eq!(info(&dir).status, Status::Complete, "{context}");
        for file in KILLED_STREAMS {
            assert_eq!(
                stream_steps(&dir, file),
                (0..KILLED_STEPS).collect::<Vec<_>>(),
                "{context}: {file} after the resume"
            );
        }
    }
    assert!(resumed >= 30, "only {resumed} of 50 kills could be resumed");
}
