//! Runs the `mnist` example end to end on tiny IDX files written here, and offline without
//! any data, then reads the run directory back as a user would.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use support::{json, lines, run_dir, steps_of, write_mnist};

fn example() -> PathBuf {
    support::example("mnist")
}

fn run(data_dir: &Path, runs: &Path, args: &[&str]) -> Output {
    support::command(example(), runs)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("the example starts")
}

#[test]
fn trains_on_idx_files_and_records_the_run() {
    let (data, runs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_mnist(data.path());
    let args = [
        "--limit-train",
        "256",
        "--epochs",
        "2",
        "--batch-size",
        "16",
    ];
    let dir = run_dir(&run(data.path(), runs.path(), &args));
    assert!(
        dir.starts_with(runs.path().join("mnist")),
        "{}",
        dir.display()
    );

    let train_loss = lines(&dir.join("metrics/train_loss.jsonl"));
    let steps: Vec<u64> = train_loss
        .iter()
        .map(|p| p["step"].as_u64().unwrap())
        .collect();
    assert_eq!(
        steps,
        [0, 10, 20, 30],
        "2 epochs of 16 steps, logged every 10"
    );
    let test_acc = lines(&dir.join("metrics/test_acc.jsonl"));
    assert_eq!(test_acc.len(), 2);
    // At the global step, as train_loss: the 16 steps of each epoch done.
    for (epoch, point) in test_acc.iter().enumerate() {
        assert_eq!(point["step"], (epoch + 1) * 16);
        assert!((0.0..=1.0).contains(&point["value"].as_f64().unwrap()));
    }
    assert_eq!(steps_of(&dir, "test_loss"), [16, 32]);
    let epochs: Vec<(u64, f64)> = lines(&dir.join("metrics/epoch.jsonl"))
        .iter()
        .map(|p| (p["step"].as_u64().unwrap(), p["value"].as_f64().unwrap()))
        .collect();
    assert_eq!(epochs, [(16, 0.0), (32, 1.0)]);

    let params = json(&dir.join("params.json"));
    assert_eq!(params["lr"], 0.001);
    assert_eq!(params["data"], "mnist");
    let config = json(&dir.join("metadata/config.json"));
    assert_eq!(
        (config["epochs"].as_u64(), config["batch_size"].as_u64()),
        (Some(2), Some(16))
    );
    assert_eq!(config["limit_train"], 256);
    assert!(
        config.get("mirror").is_none(),
        "a mirror URL may carry credentials"
    );
    assert_eq!(json(&dir.join("metadata/info.json"))["status"], "COMPLETE");
    let summary = lines(&dir.join("text/summary.jsonl"));
    assert!(summary[0]["value"]
        .as_str()
        .unwrap()
        .contains("256 mnist training images"));
    for epoch in 0..2 {
        let png =
            std::fs::read(dir.join(format!("artifacts/images/predictions/{epoch}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG per epoch");
        assert_eq!(
            u32::from_be_bytes(png[16..20].try_into().unwrap()),
            244,
            "a 4-column grid"
        );
    }
    let histograms = lines(&dir.join("histograms/fc1/weight.jsonl"));
    assert_eq!(histograms.len(), 2);
    assert_eq!(
        histograms[1]["value"]["num"],
        784.0 * 512.0,
        "every weight of the first layer"
    );
    for epoch in 0..2 {
        assert!(dir
            .join(format!("checkpoints/model/step-{epoch:010}.safetensors"))
            .exists());
    }
    assert!(dir.join("checkpoints/model/last.safetensors").exists());
}

/// The run id of a run directory `…/mnist/<id>`.
fn id_of(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn resume_continues_every_stream_and_keeps_the_last_three_checkpoints() {
    let (data, runs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_mnist(data.path());
    let base = ["--limit-train", "256", "--batch-size", "16"];
    let first = run_dir(&run(
        data.path(),
        runs.path(),
        &[&base[..], &["--epochs", "2"]].concat(),
    ));
    let id = id_of(&first);
    let resumed = run_dir(&run(
        data.path(),
        runs.path(),
        &[&base[..], &["--epochs", "4", "--resume", &id]].concat(),
    ));
    assert_eq!(resumed, first, "the same run directory");
    assert_eq!(
        steps_of(&first, "train_loss"),
        (0..7).map(|i| i * 10).collect::<Vec<_>>(),
        "4 × 16 steps"
    );
    assert_eq!(steps_of(&first, "test_acc"), [16, 32, 48, 64]);
    assert_eq!(steps_of(&first, "epoch"), [16, 32, 48, 64]);
    let info = json(&first.join("metadata/info.json"));
    assert_eq!(
        (info["status"].as_str(), info["resumes"].as_u64()),
        (Some("COMPLETE"), Some(1))
    );
    let kept: Vec<bool> = (0..4)
        .map(|epoch| {
            first
                .join(format!("checkpoints/model/step-{epoch:010}.safetensors"))
                .exists()
        })
        .collect();
    assert_eq!(kept, [false, true, true, true], "keep = 3");
}

#[test]
fn a_run_killed_mid_epoch_resumes_without_duplicate_or_missing_steps() {
    let (data, runs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_mnist(data.path());
    let mut child = support::command(example(), runs.path())
        .args([
            "--limit-train",
            "256",
            "--batch-size",
            "1",
            "--epochs",
            "3",
            "--data-dir",
        ])
        .arg(data.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let dir = runs.path().join("mnist/1");
    let started = std::time::Instant::now();
    // Kill it once epoch 1 is under way: its first checkpoint exists and points follow it.
    loop {
        let checkpointed = dir
            .join("checkpoints/model/step-0000000000.meta.json")
            .exists();
        let past = std::fs::read_to_string(dir.join("metrics/train_loss.jsonl"))
            .is_ok_and(|s| s.contains("\"step\":300,"));
        if checkpointed && past {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 300,
            "the first epoch did not finish in time"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let resumed = run_dir(&run(
        data.path(),
        runs.path(),
        &[
            "--limit-train",
            "256",
            "--batch-size",
            "1",
            "--epochs",
            "3",
            "--resume",
            "1",
        ],
    ));
    assert_eq!(resumed, dir);
    let expected: Vec<u64> = (0..3 * 256 / 10 + 1).map(|i| i * 10).collect();
    assert_eq!(
        steps_of(&dir, "train_loss"),
        expected,
        "every 10th of 768 steps, each once"
    );
    assert_eq!(steps_of(&dir, "test_acc"), [256, 512, 768]);
    assert_eq!(json(&dir.join("metadata/info.json"))["status"], "COMPLETE");
}

#[test]
fn without_data_or_network_it_trains_on_the_labelled_stand_in() {
    let (data, runs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let output = run(
        data.path(),
        runs.path(),
        &["--limit-train", "256", "--epochs", "1"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let dir = run_dir(&output);
    let sentence = format!(
        "MNIST is not in {} and could not be downloaded (127.0.0.1:1: ",
        data.path().display()
    );
    assert!(stderr.contains(&sentence), "{stderr}");
    assert!(stderr.contains("SYNTHETIC DATA"), "{stderr}");
    assert_eq!(json(&dir.join("params.json"))["data"], "synthetic");
    assert_eq!(json(&dir.join("metadata/info.json"))["status"], "COMPLETE");
    assert_eq!(
        std::fs::read_dir(data.path()).unwrap().count(),
        0,
        "nothing cached"
    );
}

#[test]
fn require_data_refuses_the_stand_in() {
    let (data, runs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let output = run(data.path(), runs.path(), &["--require-data"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    let expected = format!(
        "error: MNIST is not in {} and could not be downloaded",
        data.path().display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr}");
    assert!(!runs.path().join("mnist").exists(), "no run is started");
}

#[test]
fn a_malformed_file_is_a_clear_error_naming_it() {
    let (data, runs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_mnist(data.path());
    let path = data.path().join("train-images-idx3-ubyte");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let output = run(data.path(), runs.path(), &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let expected = format!(
        "error: {} is truncated: its header announces 300 images",
        path.display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
