//! The `tensorboard` backend, read back by the real `tensorboard` package: every kind through
//! its own loaders (`xtask/verify/tb_check.py`), scalars and HPARAMS rows through a
//! TensorBoard server on 127.0.0.1 (`xtask/verify/tb_server_check.py`), a corrupted copy that
//! must be rejected, a killed run, and a file cut mid-record that still reads up to the cut.
//!
//! The verifiers run with `LABBOOK_PYTHON`, which `cargo xtask test` sets to its pinned
//! environment. Children are this test binary re-run on `child` with `LABBOOK_TB_CHILD` set.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use labbook::backends::tensorboard::event_dir;
use labbook::prelude::*;
use labbook::store::jsonl;
use serde_json::{json, Value as Json};
use support::{points, runs, store};

#[derive(Serialize)]
struct Hp {
    lr: f64,
    optimizer: &'static str,
    model: Model,
}

#[derive(Serialize)]
struct Model {
    depth: u32,
    dropout: bool,
}

fn hp(lr: f64) -> Hp {
    Hp {
        lr,
        optimizer: "adam",
        model: Model {
            depth: 3,
            dropout: false,
        },
    }
}

#[experiment(name = "tb_every_kind")]
fn every_kind(#[config] hp: &Hp) -> PathBuf {
    #[log(param)]
    let seed = 7;
    for i in 0..5u32 {
        #[log(metric, name = "train/loss")]
        (hp.lr / f64::from(i + 1));
    }
    for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.1] {
        #[log(metric, name = "special")]
        value;
    }
    for epoch in 0..2u32 {
        let weights: Vec<f32> = (0..1000).map(|i| (i as f32 / 100.0).sin()).collect();
        #[log(histogram, name = "fc1/weight", step = epoch)]
        &weights;
        let pixels: Vec<u8> = (0..8 * 4 * 3).map(|i| (i * 5 + epoch) as u8).collect();
        #[log(image, name = "samples", step = epoch)]
        Image::rgb(8, 4, pixels).unwrap();
        #[log(text, name = "notes", step = epoch)]
        format!("epoch **{epoch}** done");
    }
    run().dir().unwrap().to_owned()
}

#[experiment(name = "tb_served")]
fn served(#[config] hp: &Hp, fail: bool) -> Result<(), String> {
    #[log(param)]
    let seed = 7;
    for i in 0..5u32 {
        #[log(metric, name = "train/loss")]
        (hp.lr / f64::from(i + 1));
    }
    if fail {
        return Err("diverged".into());
    }
    Ok(())
}

/// Logs 100 points, says where its run is, and waits to be killed: no explicit flush, the
/// periodic one must bring the points and the hparams to the file.
#[experiment(name = "tb_killed")]
fn killed(#[config] hp: &Hp, marker: &Path) {
    for i in 0..100u32 {
        #[log(metric)]
        let x = f64::from(i) * 0.5;
    }
    let partial = marker.with_extension("partial");
    std::fs::write(&partial, run().dir().unwrap().to_str().unwrap()).unwrap();
    std::fs::rename(partial, marker).unwrap();
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[experiment(name = "tb_ranks", ranks = all)]
fn ranked() {
    for i in 0..3u32 {
        #[log(metric)]
        let x = i + run().rank() * 10;
    }
}

#[experiment(name = "tb_sampled")]
fn sampled() {
    #[log(metric)]
    let loss = 1.0;
    std::thread::sleep(Duration::from_millis(600));
}

/// The body of every child process.
#[test]
fn child() {
    match std::env::var("LABBOOK_TB_CHILD").as_deref() {
        Ok("killed") => killed(
            &hp(0.1),
            Path::new(&std::env::var("LABBOOK_TB_MARKER").unwrap()),
        ),
        Ok("ranked") => ranked(),
        Ok("sampled") => sampled(),
        _ => {}
    }
}

#[test]
fn the_backend_is_registered() {
    let names: Vec<_> = labbook::backend::registry().names().collect();
    assert!(names.contains(&"tensorboard"), "{names:?}");
}

#[test]
fn every_kind_reads_back_with_tensorboards_own_loader() {
    store();
    let dir = every_kind(&hp(0.01));
    let spec = every_kind_spec(&dir, &event_dir(&dir, 0));
    assert_checks(&spec);

    // A flipped byte must be caught, though TensorBoard's reader would stop silently.
    let copy = tempfile::tempdir().unwrap();
    let file = only_event_file(&event_dir(&dir, 0));
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    bytes[middle + 1] ^= 0x55;
    std::fs::write(copy.path().join(file.file_name().unwrap()), bytes).unwrap();
    let (ok, output) = check("tb_check.py", &every_kind_spec(&dir, copy.path()), &[]);
    assert!(
        !ok && output.contains("CRC"),
        "a corrupted file passed:\n{output}"
    );
}

/// What `every_kind` must show, taken from the run's local store (the source of truth).
fn every_kind_spec(dir: &Path, logdir: &Path) -> Json {
    let scalars = |name: &str| {
        points(dir, name)
            .iter()
            .map(|p| json!([p.step, number(p.value), p.time]))
            .collect::<Vec<_>>()
    };
    let histograms = jsonl::read_histograms(&dir.join("histograms/fc1/weight.jsonl")).unwrap();
    let histograms: Vec<Json> = histograms
        .points
        .iter()
        .map(|(step, s, _)| {
            let count: f64 = s.buckets.iter().sum();
            json!({"step": step, "count": count, "min": s.min, "max": s.max})
        })
        .collect();
    let texts = jsonl::read_texts(&dir.join("text/notes.jsonl")).unwrap();
    let texts: Vec<Json> = texts
        .points
        .iter()
        .map(|(step, text)| json!({"step": step, "text": text}))
        .collect();
    assert_eq!((histograms.len(), texts.len()), (2, 2));
    let images: Vec<Json> = (0..2)
        .map(|step| {
            let png = dir.join(format!("artifacts/images/samples/{step}.png"));
            json!({"step": step, "width": 8, "height": 4, "png_file": png})
        })
        .collect();
    json!({
        "logdir": logdir,
        "runs": ["."],
        "scalars": {"train/loss": scalars("train/loss"), "special": scalars("special")},
        "histograms": {"fc1/weight": histograms},
        "images": {"samples": images},
        "text": {"notes": texts},
        "hparams": {"lr": 0.01, "optimizer": "adam", "model.depth": 3, "model.dropout": false, "seed": 7},
        "experiment": {
            "hparams": ["lr", "model.depth", "model.dropout", "optimizer", "seed"],
            "metrics": ["special", "train/loss"],
        },
        "session_end_status": 1,
    })
}

#[test]
fn a_tensorboard_server_serves_the_scalars_and_the_hparams_rows() {
    store();
    served(&hp(0.1), false).unwrap();
    served(&hp(0.01), false).unwrap();
    served(&hp(0.5), true).unwrap_err();
    let dirs = runs("tb_served");
    assert_eq!(dirs.len(), 3);
    let session = |id: usize, lr: f64, status: &str| {
        json!({
            "run": id.to_string(),
            "hparams": {"lr": lr, "optimizer": "adam", "model.depth": 3, "model.dropout": false, "seed": 7},
            "metrics": {"train/loss": lr / 5.0},
            "status": status,
        })
    };
    let loss: Vec<Json> = points(&dirs[0], "train/loss")
        .iter()
        .map(|p| json!([p.step, p.value]))
        .collect();
    let spec = json!({
        "logdir": store().join("tb_served"),
        "scalars": [{"run": "1", "tag": "train/loss", "points": loss}],
        "sessions": [
            session(1, 0.1, "STATUS_SUCCESS"),
            session(2, 0.01, "STATUS_SUCCESS"),
            session(3, 0.5, "STATUS_FAILURE"),
        ],
    });
    for load_fast in ["--load-fast=false", "--load-fast=true"] {
        let (ok, output) = check("tb_server_check.py", &spec, &[load_fast]);
        assert!(ok, "{output}");
    }
}

#[test]
fn a_killed_run_reads_up_to_its_last_whole_record() {
    store();
    let scratch = tempfile::tempdir().unwrap();
    let marker = scratch.path().join("run-dir");
    let child = Killed(spawn(&[
        ("LABBOOK_TB_CHILD", "killed"),
        ("LABBOOK_TB_MARKER", marker.to_str().unwrap()),
    ]));
    let start = Instant::now();
    while !marker.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the child never logged"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The file version, 100 points and the hparams session start reach the file within a few
    // seconds, with no flush from the training code.
    let logged = Instant::now();
    let dir = PathBuf::from(std::fs::read_to_string(&marker).unwrap());
    let file = loop {
        let files = event_files(&event_dir(&dir, 0));
        let records = files
            .first()
            .map_or(0, |f| record_starts(&std::fs::read(f).unwrap()).len());
        if records == 102 {
            break files[0].clone();
        }
        assert!(
            logged.elapsed() < Duration::from_secs(10),
            "{records} records on disk {:?} after the last log call",
            logged.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(child);
    let x = |n: u32| -> Vec<Json> { (0..n).map(|i| json!([i, f64::from(i) * 0.5])).collect() };
    let hparams = json!({"lr": 0.1, "optimizer": "adam", "model.depth": 3, "model.dropout": false});
    assert_checks(&json!({
        "logdir": event_dir(&dir, 0), "runs": ["."], "scalars": {"x": x(100)},
        "hparams": hparams, "session_end_status": null,
    }));

    // Cut a copy in the middle of record 60 (record 0 is the file version, record i step i-1).
    let bytes = std::fs::read(&file).unwrap();
    let starts = record_starts(&bytes);
    let cut = starts[60] + 20;
    let copy = tempfile::tempdir().unwrap();
    std::fs::write(copy.path().join(file.file_name().unwrap()), &bytes[..cut]).unwrap();
    let truncated = json!({"logdir": copy.path(), "runs": ["."], "scalars": {"x": x(59)}});
    let (ok, output) = check("tb_check.py", &truncated, &[]);
    assert!(!ok && output.contains("ends inside a record"), "{output}");
    let tolerant = json!({"allow_truncated_tail": true, "logdir": copy.path(), "runs": ["."], "scalars": {"x": x(59)}});
    assert_checks(&tolerant);
}

/// Under `tensorboard --logdir runs`, a run is called by its own path, `<experiment>/<id>`,
/// and another rank's events are `<experiment>/<id>/rank<r>`: the names TensorBoard's loader
/// and its server give them.
#[test]
fn tensorboard_names_each_run_by_its_path_and_ranks_below_it() {
    store();
    let runs_dir = tempfile::tempdir().unwrap();
    let children: Vec<_> = ["0", "1"]
        .into_iter()
        .map(|rank| {
            spawn(&[
                ("LABBOOK_TB_CHILD", "ranked"),
                ("LABBOOK_DIR", runs_dir.path().to_str().unwrap()),
                ("RANK", rank),
                ("WORLD_SIZE", "2"),
                ("LABBOOK_RUN_ID", "tb-ranks-job"),
            ])
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let dir = runs_dir.path().join("tb_ranks/1");
    assert!(only_event_file(&event_dir(&dir, 0)).starts_with(&dir));
    assert!(only_event_file(&event_dir(&dir, 1)).starts_with(dir.join("rank1")));
    let x = |first: u32| json!([[0, first], [1, first + 1], [2, first + 2]]);
    for (run, first) in [("tb_ranks/1", 0), ("tb_ranks/1/rank1", 10)] {
        assert_checks(&json!({
            "logdir": runs_dir.path(), "run": run, "runs": ["tb_ranks/1", "tb_ranks/1/rank1"],
            "scalars": {"x": x(first)},
        }));
    }
    let spec = json!({
        "logdir": runs_dir.path(),
        "scalars": [
            {"run": "tb_ranks/1", "tag": "x", "points": x(0)},
            {"run": "tb_ranks/1/rank1", "tag": "x", "points": x(10)},
        ],
    });
    for load_fast in ["--load-fast=false", "--load-fast=true"] {
        let (ok, output) = check("tb_server_check.py", &spec, &[load_fast]);
        assert!(ok, "{output}");
    }
}

/// A child that is killed (SIGKILL) when dropped, also when the test fails.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(vars: &[(&str, &str)]) -> std::process::Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(["--exact", "child", "--test-threads", "1"]);
    for key in [
        "RANK",
        "WORLD_SIZE",
        "LABBOOK_RUN_ID",
        "SLURM_JOB_ID",
        "SLURM_PROCID",
    ] {
        command.env_remove(key);
    }
    command.envs(vars.iter().copied());
    command.stdout(std::process::Stdio::null()).spawn().unwrap()
}

#[test]
fn system_metrics_are_scalars_under_system() {
    store();
    let status = spawn(&[
        ("LABBOOK_TB_CHILD", "sampled"),
        ("LABBOOK_SYSTEM", ""),
        ("LABBOOK_SYSTEM_INTERVAL", "100ms"),
    ])
    .wait()
    .unwrap();
    assert!(status.success());
    let dir = runs("tb_sampled").pop().unwrap();
    let run = labbook::store::read::RunDir::at(&dir);
    let mut scalars = serde_json::Map::new();
    for stream in run.system() {
        let points: Vec<Json> = stream
            .scalars()
            .unwrap()
            .points
            .iter()
            .map(|p| json!([p.step, number(p.value), p.time]))
            .collect();
        assert!(points.len() >= 3, "{}: {points:?}", stream.name());
        scalars.insert(format!("system/{}", stream.name()), Json::Array(points));
    }
    assert!(
        scalars.contains_key("system/cpu_utilization_percentage"),
        "{scalars:?}"
    );
    scalars.insert("loss".into(), json!([[0, 1.0]]));
    // Every system point, and no other tag.
    assert_checks(&json!({"logdir": event_dir(&dir, 0), "scalars": scalars}));
}

/// Where each whole record of an event file starts.
fn record_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut offset = 0;
    while let Some(header) = bytes.get(offset..offset + 8) {
        let end = offset + 16 + u64::from_le_bytes(header.try_into().unwrap()) as usize;
        if end > bytes.len() {
            break;
        }
        starts.push(offset);
        offset = end;
    }
    starts
}

fn event_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("events.out.tfevents."))
        })
        .collect();
    files.sort();
    files
}

fn only_event_file(dir: &Path) -> PathBuf {
    let files = event_files(dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("events.out.tfevents."), "{name}");
    files[0].clone()
}

/// JSON has no NaN or infinities: the verifiers read them as strings.
fn number(v: f64) -> Json {
    match v {
        v if v.is_nan() => json!("NaN"),
        f64::INFINITY => json!("Infinity"),
        f64::NEG_INFINITY => json!("-Infinity"),
        v => json!(v),
    }
}

fn assert_checks(spec: &Json) {
    let (ok, output) = check("tb_check.py", spec, &[]);
    assert!(ok, "{output}");
}

/// Runs a verifier on `spec`; whether it passed, and what it printed.
fn check(script: &str, spec: &Json, args: &[&str]) -> (bool, String) {
    let python = std::env::var_os("LABBOOK_PYTHON").unwrap_or_else(|| {
        panic!(
            "LABBOOK_PYTHON is not set: this test reads labbook's event files with the real \
             `tensorboard` package. Run it with `cargo xtask test`, which creates the pinned \
             Python environment and sets LABBOOK_PYTHON (`cargo xtask venv` prints its path)."
        )
    });
    let scratch = tempfile::tempdir().unwrap();
    let spec_file = scratch.path().join("spec.json");
    std::fs::write(&spec_file, spec.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../xtask/verify")
        .join(script);
    let output = Command::new(&python)
        .arg(&script)
        .arg(&spec_file)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python:?} {}: {e}", script.display()));
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[experiment(name = "tb_tagged", tags = ["baseline"], group = "lr-sweep")]
fn tagged(#[config] hp: &Hp) -> PathBuf {
    run().tag("optimizer", "adam").unwrap();
    #[log(metric)]
    let loss = hp.lr;
    run().dir().unwrap().to_owned()
}

#[test]
fn tags_and_the_group_are_hparams_columns() {
    store();
    let dir = tagged(&hp(0.1));
    let hparams = json!({
        "lr": 0.1, "optimizer": "adam", "model.depth": 3, "model.dropout": false,
        "tag.baseline": true, "tag.optimizer": "adam", "group": "lr-sweep",
    });
    assert_checks(&json!({
        "logdir": dir, "runs": ["."], "scalars": {"loss": [[0, 0.1]]},
        "hparams": hparams,
        "experiment": {
            "hparams": ["group", "lr", "model.depth", "model.dropout", "optimizer",
                        "tag.baseline", "tag.optimizer"],
            "metrics": ["loss"],
        },
        "session_end_status": 1,
    }));
}
