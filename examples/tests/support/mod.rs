//! Shared by the example tests: building an example, tiny IDX files, running on them, and
//! reading the run directory back.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::Value;

/// Nothing listens there: downloads fail at once.
pub const NO_MIRROR: &str = "http://127.0.0.1:1/";

/// The features this test was built with.
const FEATURES: &str = if cfg!(feature = "mpi") {
    "mpi"
} else if cfg!(feature = "candle") {
    "candle"
} else if cfg!(feature = "burn") {
    "burn"
} else {
    ""
};

/// Builds example `name` with the profile and features of this test (so `cargo test` has
/// usually built it already) and returns its path, wherever the target directory is.
pub fn example(name: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "-p", "labbook-examples", "--example", name])
        .args(["--features", FEATURES])
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
    let path = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reports the example's executable");
    built.insert(name.to_owned(), path.clone());
    path
}

/// A command for `program` that records into `runs` and cannot download.
pub fn command(program: impl AsRef<std::ffi::OsStr>, runs: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .env("LABBOOK_DIR", runs)
        .env("MNIST_MIRROR", NO_MIRROR)
        .env_remove("LABBOOK_DATA");
    command
}

/// The run directory the example prints at the end.
pub fn run_dir(output: &Output) -> PathBuf {
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

/// Every line of a JSONL file; a line that is not JSON fails the test.
pub fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect()
}

pub fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The steps of a metric stream (`name` may carry a `.rank<r>` suffix).
pub fn steps_of(dir: &Path, name: &str) -> Vec<u64> {
    lines(&dir.join(format!("metrics/{name}.jsonl")))
        .iter()
        .map(|p| p["step"].as_u64().unwrap())
        .collect()
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

/// The four MNIST files, raw and gzipped: 300 training and 120 test images.
pub fn write_mnist(dir: &Path) {
    let (images, labels) = idx_files(300);
    write(&dir.join("train-images-idx3-ubyte"), &images);
    write(&dir.join("train-labels-idx1-ubyte.gz"), &labels);
    let (images, labels) = idx_files(120);
    write(&dir.join("t10k-images-idx3-ubyte.gz"), &images);
    write(&dir.join("t10k-labels-idx1-ubyte"), &labels);
}
