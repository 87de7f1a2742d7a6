//! Runs the `mnist_ddp` example under Open MPI's `mpirun` on tiny IDX files and checks what
//! the job leaves behind: one run directory, rank 0's metrics, per-rank streams for the
//! `ranks = all` sites, parameters identical on every rank to the bit, every rank in
//! `info.json`; and that the same binary alone is a job of one.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{json, lines, run_dir, steps_of, write_mnist};

const ARGS: [&str; 6] = [
    "--limit-train",
    "256",
    "--epochs",
    "2",
    "--batch-size",
    "16",
];

/// Variables of other launchers that would override Open MPI's in labbook's view.
const OTHER_LAUNCHERS: [&str; 8] = [
    "RANK",
    "WORLD_SIZE",
    "SLURM_PROCID",
    "SLURM_NTASKS",
    "SLURM_JOB_ID",
    "PMI_RANK",
    "PMI_SIZE",
    "LABBOOK_RUN_ID",
];

/// `mpirun -n <ranks> mnist_ddp ARGS`, allowed to run as root and on more ranks than cores,
/// killed after five minutes. One job at a time: two jobs on the same cores would each
/// believe they have them.
fn mpirun(ranks: usize, data: &Path, runs: &Path) -> Output {
    static ONE_JOB_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_JOB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut command = support::command("mpirun", runs);
    command
        .args(["-n", &ranks.to_string()])
        .arg(support::example("mnist_ddp"))
        .arg("--data-dir")
        .arg(data)
        .args(ARGS)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1");
    for key in OTHER_LAUNCHERS {
        command.env_remove(key);
    }
    within(&mut command, Duration::from_secs(300))
}

/// Runs `command` to the end, or kills it after `limit`.
fn within(command: &mut Command, limit: Duration) -> Output {
    let out = tempfile::tempdir().unwrap();
    let (stdout, stderr) = (out.path().join("stdout"), out.path().join("stderr"));
    let mut child = command
        .stdout(Stdio::from(std::fs::File::create(&stdout).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&stderr).unwrap()))
        .spawn()
        .expect("mpirun starts (Open MPI: apt-get install openmpi-bin)");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            panic!(
                "the job did not end in {limit:?}: {}",
                std::fs::read_to_string(&stderr).unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: std::fs::read(&stdout).unwrap(),
        stderr: std::fs::read(&stderr).unwrap(),
    }
}

/// The run directories of `mnist_ddp` in `runs`.
fn runs_of(runs: &Path) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(runs.join("mnist_ddp"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    dirs.sort();
    dirs
}

/// The value of the one point of a stream, as JSON wrote it.
fn only_value(path: &Path) -> Value {
    let points = lines(path);
    assert_eq!(points.len(), 1, "{}", path.display());
    points[0]["value"].clone()
}

#[test]
fn four_ranks_write_one_run_with_rank_zero_metrics_and_per_rank_streams() {
    let (data, runs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_mnist(data.path());
    let output = mpirun(4, data.path(), runs.path());
    let dir = run_dir(&output);
    assert_eq!(
        runs_of(runs.path()),
        std::slice::from_ref(&dir),
        "one job, one run directory"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.matches("run directory: ").count(),
        1,
        "rank 0 reports: {stdout}"
    );

    // 2 epochs of 16 batches of 16 samples, 4 a rank; rank 0's loss every 10 steps.
    assert_eq!(steps_of(&dir, "train_loss"), [0, 10, 20, 30]);
    assert_eq!(steps_of(&dir, "test_acc"), [0, 1]);
    assert_eq!(steps_of(&dir, "test_loss"), [0, 1]);
    let metrics: Vec<String> = std::fs::read_dir(dir.join("metrics"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for name in ["train_loss", "test_acc", "test_loss"] {
        assert!(
            !metrics
                .iter()
                .any(|m| m.starts_with(&format!("{name}.rank"))),
            "{name} is rank 0's alone: {metrics:?}"
        );
    }
    let checksum = only_value(&dir.join("metrics/param_checksum.jsonl"));
    assert!(checksum.as_f64().is_some_and(f64::is_finite));
    assert_eq!(steps_of(&dir, "step_time_ms"), [0, 10, 20, 30]);
    for rank in 1..4 {
        let stream = format!("step_time_ms.rank{rank}");
        assert_eq!(steps_of(&dir, &stream), [0, 10, 20, 30], "{stream}");
        let theirs = only_value(&dir.join(format!("metrics/param_checksum.rank{rank}.jsonl")));
        assert_eq!(
            theirs.to_string(),
            checksum.to_string(),
            "rank {rank}'s parameters are rank 0's, to the bit"
        );
    }

    let info = json(&dir.join("metadata/info.json"));
    assert_eq!(info["status"], "COMPLETE");
    assert_eq!(
        (info["world_size"].as_u64(), info["rank"].as_u64()),
        (Some(4), Some(0))
    );
    assert_eq!(info["launcher"], "openmpi");
    let ranks = info["ranks"].as_array().expect("every rank in info.json");
    let mut pids: Vec<u64> = ranks.iter().map(|r| r["pid"].as_u64().unwrap()).collect();
    assert_eq!(
        ranks
            .iter()
            .map(|r| r["rank"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert!(ranks
        .iter()
        .all(|r| r["host"].as_str().is_some_and(|h| !h.is_empty())));
    pids.dedup();
    assert_eq!(pids.len(), 4, "four processes: {ranks:?}");
    assert_eq!(json(&dir.join("params.json"))["world_size"], 4);
}

#[test]
fn two_ranks_train_as_the_single_process_example_does() {
    let (data, runs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_mnist(data.path());
    let single = support::command(support::example("mnist"), runs.path())
        .arg("--data-dir")
        .arg(data.path())
        .args(ARGS)
        .output()
        .unwrap();
    let single = run_dir(&single);
    let job = run_dir(&mpirun(2, data.path(), runs.path()));
    let accuracy = |dir: &Path| lines(&dir.join("metrics/test_acc.jsonl"))[1]["value"].as_f64();
    let (alone, together) = (accuracy(&single).unwrap(), accuracy(&job).unwrap());
    assert!(
        (alone - together).abs() <= 0.005,
        "test accuracy {together} on 2 ranks, {alone} alone"
    );
    let first_loss = |dir: &Path| lines(&dir.join("metrics/train_loss.jsonl"))[0]["value"].as_f64();
    let (alone, together) = (first_loss(&single).unwrap(), first_loss(&job).unwrap());
    assert!(
        (alone - together).abs() < 1e-4,
        "the same first batch from the same weights: loss {together} on 2 ranks, {alone} alone"
    );
}

#[test]
fn without_mpirun_the_same_binary_is_a_job_of_one() {
    let (data, runs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_mnist(data.path());
    let mut command = support::command(support::example("mnist_ddp"), runs.path());
    command.arg("--data-dir").arg(data.path()).args(ARGS);
    for key in OTHER_LAUNCHERS {
        command.env_remove(key);
    }
    let dir = run_dir(&within(&mut command, Duration::from_secs(300)));
    let info = json(&dir.join("metadata/info.json"));
    assert_eq!(
        (info["world_size"].as_u64(), info["rank"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(info["status"], "COMPLETE");
    assert_eq!(steps_of(&dir, "train_loss"), [0, 10, 20, 30]);
    let streams = std::fs::read_dir(dir.join("metrics")).unwrap();
    assert!(streams
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .all(|name| !name.contains(".rank")));
}
