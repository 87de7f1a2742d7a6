//! The store as the reader finds it: nested experiments, hidden folders, links, the errors
//! that say what the store holds, and a run whose process is gone.

use std::fs;
use std::path::Path;

use serde_json::json;

use super::*;
use crate::store::meta::Status;

/// Writes `experiment/id` with an `info.json` of `status` by process `pid` of this host.
fn run(root: &Path, experiment: &str, id: u64, status: Status, pid: u32) -> PathBuf {
    let dir = root.join(experiment).join(id.to_string());
    fs::create_dir_all(dir.join("metadata")).unwrap();
    let info = json!({
        "experiment": experiment, "id": id, "status": status.as_str(),
        "start_time": "2024-11-23T15:00:00.000Z", "start_unix": 1.7e9,
        "function": "train", "source_file": "train.rs", "command": ["train"],
        "executable": null, "working_dir": null,
        "host": gethostname::gethostname().to_string_lossy(), "user": null, "pid": pid,
        "rank": 0, "world_size": 1, "launcher": "none", "labbook_version": "0.1.0",
        "features": [], "backends": ["local"], "queue_blocked_s": 0.0,
    });
    fs::write(dir.join("metadata/info.json"), info.to_string()).unwrap();
    dir
}

fn labels(runs: &[RunDir]) -> Vec<&str> {
    runs.iter().map(RunDir::label).collect()
}

#[test]
fn runs_are_listed_by_experiment_then_id_nested_experiments_included() {
    let store = tempfile::tempdir().unwrap();
    let root = store.path();
    for (experiment, id) in [("b", 10), ("b", 9), ("a/x", 1), ("a", 2)] {
        run(root, experiment, id, Status::Complete, 1);
    }
    fs::create_dir_all(root.join("a/.jobs/3/metadata")).unwrap();
    fs::create_dir_all(root.join("a/4")).unwrap(); // no metadata: no run
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("b"), root.join("c")).unwrap();

    let store = Store::open(root).unwrap();
    assert_eq!(
        labels(&store.runs().unwrap()),
        ["a/2", "a/x/1", "b/9", "b/10"]
    );
    assert_eq!(labels(&store.experiment("a").unwrap()), ["a/2", "a/x/1"]);
    assert_eq!(store.experiments().unwrap(), ["a", "a/x", "b"]);
    assert_eq!(store.run("b", 9).unwrap().path(), root.join("b/9"));
    assert_eq!(store.resolve("b").unwrap().label(), "b/10");
    assert_eq!(store.resolve("a/x/").unwrap().label(), "a/x/1");
}

#[test]
fn errors_say_what_the_store_holds() {
    let store = tempfile::tempdir().unwrap();
    run(store.path(), "mnist", 1, Status::Complete, 1);
    let store = Store::open(store.path()).unwrap();
    let root = store.path().display().to_string();
    let message = |e: Error| e.to_string();
    assert_eq!(
        message(store.run("mnist", 2).unwrap_err()),
        format!("experiment `mnist` has no run 2 in {root}")
    );
    assert_eq!(
        message(store.experiment("cifar").unwrap_err()),
        format!("there is no run or experiment `cifar` in {root} (its experiments are mnist)")
    );
    assert!(matches!(
        store.resolve("../mnist/1").unwrap_err(),
        Error::UnknownRun { .. }
    ));
    assert!(matches!(
        Store::open(store.path().join("mnist/1/metadata/info.json")).unwrap_err(),
        Error::NotAStore { .. }
    ));
    let not_a_run = RunDir::at(store.path().join("mnist"));
    assert!(message(not_a_run.info().unwrap_err())
        .ends_with("mnist is not a labbook run: it has no readable metadata/info.json"));
}

#[test]
fn a_running_run_whose_process_is_gone_is_crashed() {
    let store = tempfile::tempdir().unwrap();
    let root = store.path();
    run(root, "live", 1, Status::Running, std::process::id());
    // Pids are below 2^22 on Linux: this one has no process.
    run(root, "gone", 1, Status::Running, u32::MAX - 1);
    run(root, "done", 1, Status::Failed, u32::MAX - 1);
    let store = Store::open(root).unwrap();
    let state = |e: &str| store.run(e, 1).unwrap().state().unwrap();
    assert_eq!(state("live"), State::Running);
    assert_eq!(state("gone"), State::Crashed);
    assert_eq!(state("done"), State::Failed);
    assert_eq!(labels(&store.runs_in(State::Crashed).unwrap()), ["gone/1"]);
}

#[test]
fn files_leave_links_and_special_files_out_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::at(dir.path());
    fs::create_dir_all(dir.path().join("artifacts/images/samples")).unwrap();
    fs::write(dir.path().join("artifacts/images/samples/0.png"), "png").unwrap();
    fs::write(dir.path().join("artifacts/notes.txt"), "notes!").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc", dir.path().join("artifacts/etc")).unwrap();
    let listed = run.files("artifacts");
    let files: Vec<(&str, u64)> = listed.iter().map(|f| (f.relative(), f.size())).collect();
    assert_eq!(
        files,
        [
            ("artifacts/images/samples/0.png", 3),
            ("artifacts/notes.txt", 6)
        ]
    );
    #[cfg(unix)]
    assert_eq!(run.skipped("artifacts"), ["artifacts/etc"]);
    assert_eq!(run.size(), 9);
}
