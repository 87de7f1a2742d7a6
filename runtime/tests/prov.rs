//! The `prov.json` each run writes with `--features prov`, read back by the Python `prov`
//! package (pinned 3.2.3) through `xtask/verify/prov_check.py`: the run, its agents, config,
//! params, streams, checkpoints and artifacts as the expected nodes and relations, and a
//! PROV-N rendering by `prov-convert`. Ranks of a job appear as activities. Children are this
//! test binary re-run on `child` with `LABBOOK_TEST_CHILD` set.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use labbook::prelude::*;
use serde_json::{json, Value};

#[derive(Serialize)]
struct Hparams {
    lr: f64,
    batch_size: u32,
}

#[derive(Serialize)]
struct Model {
    weights: Vec<f32>,
}

#[experiment(name = "prov-basic")]
fn basic(#[config] hp: &Hparams, input: &Path) -> PathBuf {
    let mut model = Model {
        weights: vec![0.0; 4],
    };
    for epoch in 0..3u64 {
        for batch in 0..5u64 {
            #[log(metric)]
            let loss = hp.lr / (epoch * 5 + batch + 1) as f64;
        }
        #[log(metric, name = "top 1 acc", step = epoch)]
        0.5 + epoch as f64 / 10.0;
        model.weights[0] += 1.0;
        #[log(checkpoint, keep = 1, step = epoch)]
        &model;
    }
    #[log(text, name = "note")]
    "done";
    #[log(histogram, name = "weights")]
    &model.weights;
    #[log(image, name = "samples")]
    Image::grey(2, 2, vec![0, 64, 128, 255]).unwrap();
    #[log(param)]
    let seed = 7;
    #[log(artifact, name = "inputs")]
    input;
    run().dir().unwrap().to_owned()
}

#[experiment(name = "prov-failed")]
fn failing() -> Result<(), std::io::Error> {
    #[log(metric)]
    let loss = f64::NAN;
    Err(std::io::Error::other("loss is NaN"))
}

/// Two ranks; rank 0 ends only after rank 1 has, so its document sees all of rank 1.
#[experiment(name = "prov-ranks")]
fn ranked() {
    for i in 0..3u32 {
        #[log(metric, ranks = all)]
        let step_time = f64::from(i);
    }
    if run().rank() == 0 {
        let rank1 = run().dir().unwrap().join("metadata/rank1.json");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !std::fs::read_to_string(&rank1).is_ok_and(|t| t.contains("COMPLETE")) {
            assert!(
                std::time::Instant::now() < deadline,
                "rank 1 never finished"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// The body of every child process.
#[test]
fn child() {
    if std::env::var("LABBOOK_TEST_CHILD").as_deref() == Ok("ranked") {
        ranked();
    }
}

/// The store and a known user; set once, before any run.
fn setup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        support::store();
        std::env::set_var("USER", "ada");
    });
}

fn python() -> String {
    std::env::var("LABBOOK_PYTHON").unwrap_or_else(|_| {
        panic!(
            "LABBOOK_PYTHON is not set: these tests read prov.json with the Python `prov` \
             package. Run them with `cargo xtask test`, which creates the pinned Python \
             environment, or point LABBOOK_PYTHON at a python with \
             xtask/verify/requirements.txt installed."
        )
    })
}

/// Runs the verifier on the run's `prov.json`; panics with its output unless it passes.
fn check(dir: &Path, spec: &Value) {
    let spec_file = dir.join("prov-spec.json");
    std::fs::write(&spec_file, spec.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../xtask/verify/prov_check.py");
    let out = Command::new(python())
        .arg(script)
        .arg(dir.join("prov.json"))
        .arg(&spec_file)
        .output()
        .expect("the verifier runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run_id(dir: &Path, experiment: &str) -> String {
    format!(
        "{experiment}_{}",
        dir.file_name().unwrap().to_str().unwrap()
    )
}

fn host() -> String {
    let host = support::info(&support::runs("prov-basic")[0]).host;
    format!("host/{}", host.replace(' ', "%20"))
}

#[test]
fn the_prov_backend_is_registered() {
    assert!(labbook::backend::registry().names().any(|n| n == "prov"));
}

#[test]
fn prov_reads_the_run_its_inputs_outputs_and_agents() {
    setup();
    let input = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(input.path(), "a,b\n1,2\n").unwrap();
    let dir = basic(
        &Hparams {
            lr: 0.5,
            batch_size: 32,
        },
        input.path(),
    );
    let run = run_id(&dir, "prov-basic");
    let artifact = format!(
        "artifact/inputs/{}",
        input.path().file_name().unwrap().to_str().unwrap()
    );
    let spec = json!({
        "activity": [run],
        "agent": ["user/ada", host()],
        "entity": ["code", "config", "config/lr", "config/batch_size", "param/seed",
                   "metric/loss", "metric/top%201%20acc", "text/note", "histogram/weights",
                   "image/samples", "checkpoint/step-0000000000", "checkpoint/step-0000000002",
                   artifact],
        "used": [[run, "code"], [run, "config"], [run, "config/lr"], [run, "param/seed"]],
        "generated": [["metric/loss", run], ["metric/top%201%20acc", run], ["text/note", run],
                      ["histogram/weights", run], ["image/samples", run],
                      ["checkpoint/step-0000000002", run], [artifact, run]],
        "associated": [[run, "user/ada"], [run, host()]],
        "member": [["config", "config/lr"], ["config", "config/batch_size"]],
        "invalidated": [["checkpoint/step-0000000000", run], ["checkpoint/step-0000000001", run]],
        "type": [[run, "labbook:Run"], ["user/ada", "prov:Person"], ["code", "prov:Plan"],
                 ["config/lr", "provml:HyperParameter"], ["metric/loss", "provml:Metric"],
                 ["checkpoint/step-0000000002", "provml:Model"]],
        "attr": [[run, "labbook:status", "COMPLETE"],
                 ["config/lr", "prov:value", "0.5"], ["param/seed", "prov:value", "7"],
                 ["metric/loss", "dcterms:identifier", "metrics/loss.jsonl"],
                 ["metric/loss", "labbook:points", "15"],
                 ["metric/top%201%20acc", "prov:label", "top 1 acc"],
                 ["metric/top%201%20acc", "labbook:last_step", "2"],
                 ["checkpoint/step-0000000002", "labbook:step", "2"]],
    });
    check(&dir, &spec);
}

#[test]
fn a_failed_run_is_recorded_with_its_error() {
    setup();
    failing().unwrap_err();
    let dir = support::runs("prov-failed").pop().unwrap();
    let run = run_id(&dir, "prov-failed");
    check(
        &dir,
        &json!({
            "activity": [run],
            "generated": [["metric/loss", run]],
            "attr": [[run, "labbook:status", "FAILED"], [run, "labbook:error", "loss is NaN"],
                     ["metric/loss", "labbook:last_value", "nan"]],
        }),
    );
}

#[test]
fn each_rank_of_a_job_is_an_activity_with_its_streams() {
    setup();
    let children: Vec<_> = (0..2)
        .map(|rank| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "child", "--test-threads", "1"])
                .env("LABBOOK_TEST_CHILD", "ranked")
                .env("RANK", rank.to_string())
                .env("WORLD_SIZE", "2")
                .env("LABBOOK_RUN_ID", "prov-job-1")
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let dir = support::runs("prov-ranks").pop().unwrap();
    let run = run_id(&dir, "prov-ranks");
    check(
        &dir,
        &json!({
            "activity": [run, "rank/0", "rank/1"],
            "informed": [["rank/0", run], ["rank/1", run]],
            "entity": ["metric/step_time", "rank/1/metric/step_time"],
            "generated": [["metric/step_time", run], ["rank/1/metric/step_time", "rank/1"]],
            "attr": [["rank/1", "labbook:status", "COMPLETE"], [run, "labbook:world_size", "2"]],
        }),
    );
}

#[experiment(name = "prov-tagged", tags = ["baseline"], group = "lr-sweep")]
fn tagged() -> PathBuf {
    run().tag("optimizer", "adam").unwrap();
    run().note("warm-up over 100 steps").unwrap();
    run().dir().unwrap().to_owned()
}

#[test]
fn tags_group_and_notes_are_attributes_of_the_run_activity() {
    setup();
    let dir = tagged();
    let run = run_id(&dir, "prov-tagged");
    check(
        &dir,
        &json!({
            "activity": [run],
            "attr": [[run, "labbook:tag", "baseline"], [run, "labbook:tag", "optimizer=adam"],
                     [run, "labbook:group", "lr-sweep"],
                     [run, "dcterms:description", "warm-up over 100 steps"]],
        }),
    );
}
