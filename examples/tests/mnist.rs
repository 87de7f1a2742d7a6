//! Runs the `mnist` example end to end on tiny IDX files written here, and offline without
//! any data, then reads the run directory back as a user would.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::Value;

/// Nothing listens there: downloads fail at once.
const NO_MIRROR: &str = "http://127.0.0.1:1/";

/// Builds the example with the profile of this test (so `cargo test` has usually built it
/// already) and returns its path, wherever the target directory is.
fn example() -> &'static Path {
    static EXAMPLE: OnceLock<PathBuf> = OnceLock::new();
    EXAMPLE.get_or_init(|| {
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "-p", "labbook-examples", "--example", "mnist"])
            .arg("--message-format=json-render-diagnostics");
        if !cfg!(debug_assertions) {
            cargo.arg("--release");
        }
        let output = cargo.output().expect("cargo runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "mnist")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo reports the example's executable")
    })
}

fn run(data_dir: &Path, runs: &Path, args: &[&str]) -> Output {
    Command::new(example())
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("LABBOOK_DIR", runs)
        .env("MNIST_MIRROR", NO_MIRROR)
        .env_remove("LABBOOK_DATA")
        .output()
        .expect("the example starts")
}

/// The run directory the example prints at the end.
fn run_dir(output: &Output) -> PathBuf {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("run directory: "));
    PathBuf::from(line.expect("the run directory is printed"))
}

fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `n` digit-like images (a bar whose row is the label, plus a diagonal) as IDX bytes.
fn idx_files(n: usize) -> (Vec<u8>, Vec<u8>) {
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let mut images = [0, 0, 8, 3].to_vec();
    for dim in [n as u32, 28, 28] {
        images.extend(dim.to_be_bytes());
    }
    for (i, &label) in labels.iter().enumerate() {
        for p in 0..784 {
            let (x, y) = (p % 28, p / 28);
            let bar = y / 2 == 3 + usize::from(label) && (4..24).contains(&x);
            let diagonal = x == (y + i) % 28;
            images.push(if bar {
                255
            } else if diagonal {
                90
            } else {
                0
            });
        }
    }
    let mut label_file = [0, 0, 8, 1].to_vec();
    label_file.extend((n as u32).to_be_bytes());
    label_file.extend(&labels);
    (images, label_file)
}

fn write(path: &Path, bytes: &[u8]) {
    if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = GzEncoder::new(std::fs::File::create(path).unwrap(), Compression::fast());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap();
    } else {
        std::fs::write(path, bytes).unwrap();
    }
}

fn write_mnist(dir: &Path) {
    let (images, labels) = idx_files(300);
    write(&dir.join("train-images-idx3-ubyte"), &images);
    write(&dir.join("train-labels-idx1-ubyte.gz"), &labels);
    let (images, labels) = idx_files(120);
    write(&dir.join("t10k-images-idx3-ubyte.gz"), &images);
    write(&dir.join("t10k-labels-idx1-ubyte"), &labels);
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
    for (epoch, point) in test_acc.iter().enumerate() {
        assert_eq!(point["step"], epoch);
        assert!((0.0..=1.0).contains(&point["value"].as_f64().unwrap()));
    }
    assert_eq!(lines(&dir.join("metrics/test_loss.jsonl")).len(), 2);

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
    let preview = std::fs::read(dir.join("artifacts/predictions.ppm")).unwrap();
    assert!(preview.starts_with(b"P6\n244 "), "a 4-column grid");
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
