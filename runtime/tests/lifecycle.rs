//! A run's life beyond the happy path: resumed after a panic or a SIGKILL, interrupted
//! with Ctrl-C, reported by a progress bar, and logged into its own log file. Children are
//! this test binary re-run on `child` with `LABBOOK_TEST_CHILD` set.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use labbook::prelude::*;
use support::{info, steps, store};

#[derive(Serialize, Deserialize, Default, Debug)]
struct Model {
    epochs_seen: Vec<u32>,
}

/// Four epochs of five batches; `crash_in` stops epoch `crash_in` after its third batch,
/// by a panic or, with `hang`, by waiting to be killed.
#[experiment(name = "resumable", resume = resume)]
fn resumable(resume: Option<u64>, crash_in: Option<u32>, hang: bool) -> PathBuf {
    let mut model = Model::default();
    let first = run()
        .restore(&mut model)
        .unwrap()
        .map_or(0, |epoch| epoch as u32 + 1);
    for epoch in first..4 {
        for batch in 0..5u32 {
            #[log(metric, every = 2)]
            let loss = f64::from(epoch * 5 + batch);
            if crash_in == Some(epoch) && batch == 2 {
                if hang {
                    run().flush().unwrap();
                    loop {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
                panic!("crashed in epoch {epoch}");
            }
        }
        model.epochs_seen.push(epoch);
        #[log(metric, step = epoch)]
        let epoch_done = epoch;
        #[log(checkpoint, keep = 2, step = epoch)]
        &model;
    }
    #[log(text, name = "summary")]
    format!("{:?}", model.epochs_seen);
    run().dir().unwrap().to_owned()
}

#[experiment(name = "interrupted")]
fn interrupted() {
    for i in 0..u64::MAX {
        #[log(metric)]
        let tick = i;
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[experiment(name = "progress")]
fn with_progress() {
    #[progress]
    for batch in 0..3u32 {
        #[log(metric)]
        let loss = 1.0 / f64::from(batch + 1);
    }
}

/// The body of every child process.
#[test]
fn child() {
    let id = std::env::var("RESUME_ID").ok().and_then(|v| v.parse().ok());
    match std::env::var("LABBOOK_TEST_CHILD").as_deref() {
        Ok("hang") => drop(resumable(None, Some(2), true)),
        Ok("resume") => drop(resumable(id, None, false)),
        Ok("interrupted") => interrupted(),
        Ok("progress") => with_progress(),
        _ => {}
    }
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether this process inherited SIGINT ignored, so its children ignore Ctrl-C too.
fn sigint_ignored() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (2 - 1)) != 0)
}

/// What a run that crashed in epoch 2 and was resumed must look like.
fn assert_resumed_exactly(dir: &Path) {
    assert_eq!(
        steps(dir, "loss"),
        (0..10).map(|i| i * 2).collect::<Vec<_>>(),
        "no step twice, none missing"
    );
    for point in support::points(dir, "loss") {
        assert_eq!(point.value, point.step as f64);
    }
    assert_eq!(steps(dir, "epoch_done"), [0, 1, 2, 3]);
    let summary = labbook::store::jsonl::read_texts(&dir.join("text/summary.jsonl"))
        .unwrap()
        .points;
    assert_eq!(
        summary,
        [(0, "[0, 1, 2, 3]".to_owned())],
        "the model came back from the checkpoint"
    );
    let mut kept: Vec<String> = std::fs::read_dir(dir.join("checkpoints/model"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        [
            "last.json",
            "step-0000000002.json",
            "step-0000000002.meta.json",
            "step-0000000003.json",
            "step-0000000003.meta.json"
        ]
    );
    let info = info(dir);
    assert_eq!(
        (info.status, info.resumes, info.resumed_from_step),
        (labbook::Status::Complete, 1, Some(1))
    );
}

#[test]
fn a_run_that_panicked_resumes_from_its_last_checkpoint() {
    store();
    let crashed = std::panic::catch_unwind(|| resumable(None, Some(2), false));
    assert!(crashed.is_err());
    let dir = support::runs("resumable").pop().unwrap();
    assert_eq!(info(&dir).status, labbook::Status::Failed);
    assert_eq!(
        steps(&dir, "loss").last(),
        Some(&12),
        "points after the last checkpoint were on disk"
    );
    let id = dir.file_name().unwrap().to_str().unwrap().parse().unwrap();
    assert_eq!(resumable(Some(id), None, false), dir);
    assert_resumed_exactly(&dir);
}

#[test]
fn a_run_killed_mid_epoch_resumes_from_its_last_checkpoint() {
    let store = tempfile::tempdir().unwrap();
    let mut first = support::child_command("hang", store.path())
        .spawn()
        .unwrap();
    let dir = store.path().join("resumable/1");
    wait_for("epoch 2 to be under way", || {
        dir.join("checkpoints/model/step-0000000001.meta.json")
            .exists()
            && std::fs::read_to_string(dir.join("metrics/loss.jsonl"))
                .is_ok_and(|s| s.contains("\"step\":12,"))
    });
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(
        info(&dir).status,
        labbook::Status::Running,
        "a killed run never got to say how it ended"
    );
    let status = support::child_command("resume", store.path())
        .env("RESUME_ID", "1")
        .status()
        .unwrap();
    assert!(status.success());
    assert_resumed_exactly(&dir);
}

#[test]
fn ctrl_c_flushes_the_run_and_marks_it_interrupted() {
    assert!(
        !sigint_ignored(),
        "this test runs with SIGINT ignored (started by nohup or `cmd &` in a script), and labbook leaves an ignored SIGINT alone: run it from a shell with job control"
    );
    interrupt("-INT", None);
}

#[cfg(target_os = "linux")]
#[test]
fn sigterm_under_nohup_flushes_the_run_and_marks_it_interrupted() {
    interrupt("-TERM", Some("nohup"));
}

/// Starts the endless `interrupted` child (behind `wrapper`, such as `nohup`, if given),
/// sends it `signal` once points reach the disk, and checks the run was saved.
fn interrupt(signal: &str, wrapper: Option<&str>) {
    let store = tempfile::tempdir().unwrap();
    let child = support::child_command("interrupted", store.path());
    let mut command = match wrapper {
        Some(wrapper) => {
            let mut command = Command::new(wrapper);
            command.arg(child.get_program()).args(child.get_args());
            for (key, value) in child.get_envs() {
                match value {
                    Some(value) => command.env(key, value),
                    None => command.env_remove(key),
                };
            }
            command.stdout(Stdio::null());
            command
        }
        None => child,
    };
    let mut running = command.spawn().unwrap();
    let stream = store.path().join("interrupted/1/metrics/tick.jsonl");
    wait_for("points on disk", || {
        std::fs::read_to_string(&stream).is_ok_and(|s| s.lines().count() >= 5)
    });
    let kill = Command::new("kill")
        .args([signal, &running.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut status = None;
    wait_for("the interrupted run to exit", || {
        status = running.try_wait().unwrap();
        status.is_some()
    });
    assert_eq!(status.unwrap().code(), Some(130));
    let dir = store.path().join("interrupted/1");
    let info = info(&dir);
    assert_eq!(
        (info.status, info.error.as_deref()),
        (labbook::Status::Failed, Some("interrupted"))
    );
    let points = labbook::store::jsonl::read_scalars(&stream).unwrap();
    assert!(points.warning.is_none() && points.points.len() >= 5);
}

#[test]
fn a_progress_loop_prints_plain_lines_when_stderr_is_not_a_terminal() {
    let store = tempfile::tempdir().unwrap();
    let output = support::child_command("progress", store.path())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("labbook: batch "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        line.starts_with("labbook: batch 3/3 (100%)") && line.ends_with("loss=0.3333"),
        "{line}"
    );
}

#[experiment(name = "chatty")]
fn chatty() -> PathBuf {
    tracing::info!(lr = 0.1, "hello from the training loop");
    run().dir().unwrap().to_owned()
}

#[test]
fn tracing_events_inside_a_run_reach_its_log_file() {
    store();
    let dir = chatty();
    let log = std::fs::read_to_string(dir.join("logs/labbook.log")).unwrap();
    assert!(
        log.contains("hello from the training loop") && log.contains("lr=0.1"),
        "{log}"
    );
}
