//! The W&B offline run each run writes with `--features wandb`, read back by the real
//! `wandb` package (0.31, pinned) through `xtask/verify/wandb_check.py`: every history row,
//! the config, the summary, the exit code and state; and a corrupted copy is rejected.
//! `cargo xtask test` provides the interpreter in `LABBOOK_PYTHON`. Children are this test
//! binary re-run on `child` with `LABBOOK_TEST_CHILD` set, for a clean W&B environment.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use labbook::histogram::Summary;
use labbook::prelude::*;
use serde_json::{json, Value};

const POINTS: u64 = 1000;

#[derive(Serialize)]
struct Hparams {
    lr: f64,
    layers: Vec<u32>,
    optimizer: String,
    /// Makes the config record longer than a 32 KiB block.
    notes: String,
}

fn weights() -> Vec<f32> {
    (0..500).map(|i| (i as f32 / 50.0).sin()).collect()
}

#[experiment(name = "wandb-basic")]
fn basic(#[config] hp: &Hparams) -> PathBuf {
    for i in 0..POINTS {
        #[log(metric)]
        let loss = hp.lr / (i as f64 + 1.0);
        #[log(metric, name = "train/acc")]
        i as f64
            / POINTS as f64;
    }
    #[log(metric, step = 7)]
    let odd = f64::NAN;
    #[log(metric, step = 8)]
    let high = f64::INFINITY;
    #[log(metric, step = 8)]
    let low = f64::NEG_INFINITY;
    #[log(text, name = "note")]
    "hello \"wandb\"";
    #[log(histogram, name = "weights")]
    &weights();
    let pixels = (0..4 * 8 * 3).map(|i| (i * 5) as u8).collect();
    #[log(image, name = "samples/input")]
    Image::rgb(8, 4, pixels).unwrap();
    #[log(param)]
    let seed = 42;
    run().dir().unwrap().to_owned()
}

#[experiment(name = "wandb-failed")]
fn failing() -> Result<(), std::io::Error> {
    #[log(metric)]
    let loss = 0.5;
    Err(std::io::Error::other("loss diverged"))
}

/// Four epochs with a checkpoint each; with `fail`, stops with an error after epoch 1.
#[experiment(name = "wandb-resume", resume = resume)]
fn resumable(resume: Option<u64>, fail: bool) -> Result<PathBuf, std::io::Error> {
    let mut done: Vec<u64> = Vec::new();
    let first = run().restore(&mut done).unwrap().map_or(0, |step| step + 1);
    for epoch in first..4 {
        #[log(metric, step = epoch)]
        let loss = 1.0 / (epoch as f64 + 1.0);
        done.push(epoch);
        #[log(checkpoint, step = epoch)]
        &done;
        if fail && epoch == 1 {
            return Err(std::io::Error::other("stopped after epoch 1"));
        }
    }
    Ok(run().dir().unwrap().to_owned())
}

/// Logs two metrics a step and, at step 150, an image that W&B cannot store: a file sits
/// where the W&B run's media folder goes.
#[experiment(name = "wandb-lossy")]
fn lossy() -> PathBuf {
    let dir = run().dir().unwrap().to_owned();
    let (folder, _) = offline_run(&dir);
    std::fs::write(folder.join("files/media"), "not a folder").unwrap();
    for step in 0..LOSSY_STEPS {
        #[log(metric, step = step)]
        let loss = 1.0 / (step as f64 + 1.0);
        if step == 150 {
            #[log(image, name = "sample", step = step)]
            Image::rgb(2, 2, vec![7; 12]).unwrap();
        }
        #[log(metric, name = "acc", step = step)]
        step as f64
            / 300.0;
    }
    dir
}

const LOSSY_STEPS: u64 = 300;

#[experiment(name = "wandb-defaults")]
fn defaults() {
    #[log(metric)]
    let loss = 1;
}

#[experiment(name = "wandb-system")]
fn sampled() {
    #[log(metric)]
    let loss = 1;
    std::thread::sleep(std::time::Duration::from_millis(600));
}

/// The body of every child process.
#[test]
fn child() {
    match std::env::var("LABBOOK_TEST_CHILD").as_deref() {
        Ok("defaults") => defaults(),
        Ok("sampled") => sampled(),
        _ => {}
    }
}

/// The store, with the W&B settings every test here expects; set once, before any run.
fn setup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        support::store();
        std::env::set_var("WANDB_PROJECT", "labbook-tests");
        std::env::set_var("WANDB_ENTITY", "lab");
        std::env::set_var("WANDB_TAGS", "rust, ci");
    });
}

/// The offline-run folders in a run directory, oldest first.
fn offline_runs(dir: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir.join("wandb"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.is_symlink())
        .collect();
    folders.sort();
    folders
}

fn python() -> String {
    std::env::var("LABBOOK_PYTHON").unwrap_or_else(|_| {
        panic!(
            "LABBOOK_PYTHON is not set: these tests read the run with the real `wandb` package. \
             Run them with `cargo xtask test`, which creates the pinned Python environment, or \
             point LABBOOK_PYTHON at a python with xtask/verify/requirements.txt installed."
        )
    })
}

/// The offline-run folder in a run directory, and its W&B id.
fn offline_run(dir: &Path) -> (PathBuf, String) {
    let folders = offline_runs(dir);
    assert_eq!(folders.len(), 1, "{folders:?}");
    let name = folders[0].file_name().unwrap().to_str().unwrap().to_owned();
    let (stamp, id) = name
        .strip_prefix("offline-run-")
        .and_then(|rest| rest.split_once('-'))
        .unwrap_or_else(|| panic!("{name} is not offline-run-<date>-<id>"));
    assert!(stamp.len() == 15 && stamp.as_bytes()[8] == b'_', "{name}");
    assert!(
        id.len() == 8
            && id
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    );
    assert!(folders[0].join(format!("run-{id}.wandb")).is_file());
    (folders[0].clone(), id.to_owned())
}

/// Runs the verifier on `run` with `spec`; returns whether it passed and what it printed.
fn check(run: &Path, spec: &Value) -> (bool, String) {
    let spec_file = support::store().join(format!(
        "{}.spec.json",
        run.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&spec_file, spec.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../xtask/verify/wandb_check.py");
    let out = Command::new(python())
        .arg(script)
        .arg(run)
        .arg(&spec_file)
        .output()
        .expect("the verifier runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn basic_spec(dir: &Path, id: &str, hp: &Hparams) -> Value {
    let mut rows: Vec<Value> = (0..POINTS)
        .map(|i| {
            json!({"loss": hp.lr / (i as f64 + 1.0), "train/acc": i as f64 / POINTS as f64,
                   "labbook/step": i})
        })
        .collect();
    rows.push(json!({"odd": "NaN", "labbook/step": 7}));
    rows.push(json!({"high": "Infinity", "low": "-Infinity", "labbook/step": 8}));
    let summary = Summary::of(weights().iter().map(|v| f64::from(*v)));
    let mut bins = vec![summary.min];
    bins.extend(&summary.bucket_limits);
    let histogram = json!({"_type": "histogram", "values": summary.buckets, "bins": bins});
    let image = json!({"_type": "image-file", "format": "png", "width": 8, "height": 4});
    rows.push(json!({"note": "hello \"wandb\"", "weights": histogram,
                     "samples/input": image, "labbook/step": 0}));
    json!({
        "run_id": id, "project": "labbook-tests", "entity": "lab", "tags": ["rust", "ci"],
        "name": format!("wandb-basic/{}", dir.file_name().unwrap().to_str().unwrap()),
        "config": {"lr": hp.lr, "layers": hp.layers, "optimizer": hp.optimizer,
                   "notes": hp.notes, "seed": 42},
        "history": rows,
        "summary": {"loss": hp.lr / POINTS as f64, "odd": "NaN", "high": "Infinity",
                    "note": "hello \"wandb\"", "weights": histogram, "_step": POINTS + 2},
        "metrics": ["loss", "train/acc", "odd", "weights"],
        "exit_code": 0, "state": "finished",
    })
}

#[test]
fn the_wandb_backend_is_registered() {
    assert!(labbook::backend::registry().names().any(|n| n == "wandb"));
}

#[test]
fn wandb_reads_every_row_the_config_the_summary_and_the_exit() {
    setup();
    let hp = Hparams {
        lr: 0.1,
        layers: vec![64, 32],
        optimizer: "adam".into(),
        notes: "x".repeat(40_000),
    };
    let dir = basic(&hp);
    let (folder, id) = offline_run(&dir);
    let (ok, out) = check(&folder, &basic_spec(&dir, &id, &hp));
    assert!(ok, "{out}");

    // The same file with one byte flipped in the middle of a record is rejected.
    let broken = dir.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    let mut bytes = std::fs::read(folder.join(format!("run-{id}.wandb"))).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(broken.join(format!("run-{id}.wandb")), bytes).unwrap();
    let (ok, out) = check(&broken, &json!({}));
    assert!(!ok, "a corrupted file passed:\n{out}");
    assert!(out.contains("CRC mismatch"), "{out}");
}

#[test]
fn a_failed_run_ends_with_exit_code_1_and_its_error_in_the_console() {
    setup();
    let error = failing().unwrap_err();
    assert_eq!(error.to_string(), "loss diverged");
    let dir = support::runs("wandb-failed").pop().unwrap();
    let (folder, id) = offline_run(&dir);
    let spec = json!({
        "run_id": id, "history": [{"loss": 0.5, "labbook/step": 0}],
        "summary": {"loss": 0.5}, "exit_code": 1, "state": "failed",
        "console": "loss diverged",
    });
    let (ok, out) = check(&folder, &spec);
    assert!(ok, "{out}");
}

#[test]
fn without_settings_the_project_is_the_experiment_and_disabled_means_off() {
    setup();
    for mode in ["offline", "disabled"] {
        let mut child = Command::new(std::env::current_exe().unwrap());
        child
            .args(["--exact", "child", "--test-threads", "1"])
            .env("LABBOOK_TEST_CHILD", "defaults")
            .env("WANDB_MODE", mode);
        for key in ["WANDB_PROJECT", "WANDB_ENTITY", "WANDB_TAGS", "WANDB_NAME"] {
            child.env_remove(key);
        }
        assert!(child.status().unwrap().success());
    }
    let runs = support::runs("wandb-defaults");
    let (folder, id) = offline_run(&runs[0]);
    let spec = json!({"run_id": id, "project": "wandb-defaults", "entity": "", "tags": [],
                      "history": [{"loss": 1, "labbook/step": 0}], "state": "finished"});
    let (ok, out) = check(&folder, &spec);
    assert!(ok, "{out}");
    assert!(
        !runs[1].join("wandb").exists(),
        "WANDB_MODE=disabled wrote a W&B run"
    );
}

#[test]
fn system_metrics_are_wandb_stats_records() {
    setup();
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--test-threads", "1"])
        .env("LABBOOK_TEST_CHILD", "sampled")
        .env("LABBOOK_SYSTEM", "")
        .env("LABBOOK_SYSTEM_INTERVAL", "100ms")
        .status()
        .unwrap();
    assert!(status.success());
    let dir = support::runs("wandb-system").pop().unwrap();
    let (folder, _) = offline_run(&dir);
    // Every point of every system stream, in the order sampled.
    let mut stats = serde_json::Map::new();
    for stream in labbook::store::read::RunDir::at(&dir).system() {
        let values: Vec<f64> = stream
            .scalars()
            .unwrap()
            .points
            .iter()
            .map(|p| p.value)
            .collect();
        assert!(values.len() >= 3, "{}: {values:?}", stream.name());
        stats.insert(stream.name().to_owned(), json!(values));
    }
    assert!(
        stats.contains_key("cpu_utilization_percentage"),
        "{stats:?}"
    );
    let spec = json!({"history": [{"loss": 1, "labbook/step": 0}], "stats": stats,
                      "state": "finished"});
    let (ok, out) = check(&folder, &spec);
    assert!(ok, "{out}");
}

#[test]
fn a_record_wandb_cannot_store_is_counted_and_every_other_record_is_written() {
    setup();
    let dir = lossy();
    let (folder, id) = offline_run(&dir);
    let rows: Vec<Value> = (0..LOSSY_STEPS)
        .map(|step| {
            json!({"loss": 1.0 / (step as f64 + 1.0), "acc": step as f64 / 300.0,
                   "labbook/step": step})
        })
        .collect();
    let spec = json!({"run_id": id, "history": rows, "exit_code": 0, "state": "finished",
                      "summary": {"loss": 1.0 / LOSSY_STEPS as f64}});
    let (ok, out) = check(&folder, &spec);
    assert!(ok, "{out}");
    // The local store has the image; info.json says W&B lacks it.
    assert!(dir.join("artifacts/images/sample/150.png").is_file());
    let info = support::info(&dir);
    assert_eq!(info.status, labbook::Status::Complete);
    let problem = info
        .problems
        .backends
        .get("wandb")
        .unwrap_or_else(|| panic!("no wandb problem in {:?}", info.problems));
    assert_eq!(problem.lost, 1, "{problem:?}");
    assert!(
        problem.error.contains("`sample` at step 150") && problem.error.contains("files/media"),
        "{problem:?}"
    );
    assert!(!problem.disabled);
}

#[test]
fn a_resumed_run_continues_the_same_wandb_run() {
    setup();
    resumable(None, true).unwrap_err();
    let id: u64 = support::runs("wandb-resume")[0]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let dir = resumable(Some(id), false).unwrap();
    let folders = offline_runs(&dir);
    assert_eq!(folders.len(), 2, "{folders:?}");
    let (first, second) = (&folders[0], &folders[1]);
    let wandb_id = |f: &Path| f.to_str().unwrap().rsplit('-').next().unwrap().to_owned();
    assert_eq!(wandb_id(first), wandb_id(second));
    let row = |epoch: u64| json!({"loss": 1.0 / (epoch as f64 + 1.0), "labbook/step": epoch});
    let spec = json!({"history": [row(0), row(1)], "exit_code": 1, "resumed": false});
    let (ok, out) = check(first, &spec);
    assert!(ok, "{out}");
    let spec = json!({"run_id": wandb_id(second), "history": [row(2), row(3)], "first_step": 2,
                      "exit_code": 0, "state": "finished", "resumed": true});
    let (ok, out) = check(second, &spec);
    assert!(ok, "{out}");
}

#[experiment(name = "wandb-tags", tags = ["baseline"], group = "lr-sweep")]
fn tagged() -> PathBuf {
    #[log(metric)]
    let loss = 0.5;
    run().tag("optimizer", "adam").unwrap();
    run().tag("long", &"x".repeat(70)).unwrap();
    run().note("warm-up over 100 steps").unwrap();
    #[log(metric, step = 1)]
    let loss = 0.25;
    run().dir().unwrap().to_owned()
}

#[test]
fn tags_group_and_notes_are_in_the_wandb_run_and_a_tag_too_long_is_a_problem() {
    setup();
    let dir = tagged();
    let (folder, id) = offline_run(&dir);
    let spec = json!({
        "run_id": id,
        "tags": ["rust", "ci", "baseline", "optimizer=adam"],
        "group": "lr-sweep",
        "notes": "warm-up over 100 steps",
        "history": [{"loss": 0.5, "labbook/step": 0}, {"loss": 0.25, "labbook/step": 1}],
        "exit_code": 0,
    });
    let (ok, out) = check(&folder, &spec);
    assert!(ok, "{out}");
    let problems = support::info(&dir).problem_lines();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let expected = "the tag `long=xxxxxxxxxxxxxxx…` is longer than the 64 characters W&B takes";
    assert!(problems[0].contains(expected), "{problems:?}");
}
