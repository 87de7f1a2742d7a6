//! What logging costs a real training loop: the MNIST example's steps per second with its
//! sites as shipped, with `train_loss` logged at every step, and with every site compiled
//! out, on the same seed and data.
//!
//! On a small machine one run's speed drifts by more than logging costs, so the builds run
//! in rounds, one run of each a round, in turn forwards and backwards (shipped, every step,
//! `off`; then `off`, every step, shipped): each build's run is compared with the `off` run
//! of its own round, next to it in time, and the figure is the median of those per-round
//! ratios.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{capture, cargo};

/// Rounds: runs of each build.
pub const ROUNDS: usize = 10;

/// The builds compared: a label and the example's features; `off` is the last.
pub const VARIANTS: [(&str, &str); 3] = [
    ("sites as shipped", ""),
    ("`train_loss` every step", "log-every-step"),
    ("`off` (no sites)", "labbook-off"),
];

/// Steps per second of each variant, one entry per round (entry `r` of every variant was
/// measured in round `r`).
pub type Overhead = Vec<(&'static str, Vec<f64>)>;

pub fn measure(root: &Path) -> Result<Overhead, String> {
    let binaries = VARIANTS
        .iter()
        .map(|(_, features)| build(root, features))
        .collect::<Result<Vec<_>, _>>()?;
    let runs = std::env::temp_dir().join(format!("labbook-overhead-{}", std::process::id()));
    let mut rates: Overhead = VARIANTS
        .iter()
        .map(|(label, _)| (*label, vec![f64::NAN; ROUNDS]))
        .collect();
    for round in 0..ROUNDS {
        eprintln!("xtask: overhead round {} of {ROUNDS}", round + 1);
        for variant in order(round) {
            let mut command = Command::new(&binaries[variant]);
            command
                .args(["--epochs", "1", "--seed", "0"])
                .env("LABBOOK_DIR", &runs)
                .env("LABBOOK_PROGRESS", "off");
            data_args(&mut command);
            rates[variant].1[round] = steps_per_second(&capture(&mut command)?)?;
        }
    }
    let _ = std::fs::remove_dir_all(runs);
    Ok(rates)
}

/// Real MNIST from `LABBOOK_BENCH_MNIST`, else the example's generated stand-in (same
/// sizes, so the same steps; no download is tried).
pub fn data_args(command: &mut Command) {
    match std::env::var("LABBOOK_BENCH_MNIST") {
        Ok(dir) => command.args(["--data-dir", &dir]),
        Err(_) => command
            .env("MNIST_MIRROR", "http://127.0.0.1:1")
            .args(["--data-dir", "/nonexistent"]),
    };
}

/// The order of the builds in `round`: forwards, then backwards.
fn order(round: usize) -> Vec<usize> {
    let forwards = 0..VARIANTS.len();
    if round.is_multiple_of(2) {
        forwards.collect()
    } else {
        forwards.rev().collect()
    }
}

/// Step time of `rates` relative to `off` in each round (`1.05`: 5 % slower than `off`).
pub fn step_time_ratios(rates: &[f64], off: &[f64]) -> Vec<f64> {
    rates
        .iter()
        .zip(off)
        .map(|(rate, off)| off / rate)
        .collect()
}

pub fn build(root: &Path, features: &str) -> Result<PathBuf, String> {
    let mut command = Command::new(cargo());
    command.current_dir(root).args([
        "build",
        "--release",
        "--example",
        "mnist",
        "--message-format=json",
    ]);
    if !features.is_empty() {
        command.args(["--features", features]);
    }
    let output = capture(&mut command)?;
    let executable = output
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["target"]["name"] == "mnist")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or("cargo named no mnist executable")?;
    // The three builds share one path: keep a copy of each.
    let copy = executable.with_file_name(format!(
        "mnist-{}",
        if features.is_empty() {
            "shipped"
        } else {
            features
        }
    ));
    std::fs::copy(&executable, &copy).map_err(|e| e.to_string())?;
    Ok(copy)
}

/// From the example's `epoch 1/1: … (2.7 s, 346 steps/s)` line.
fn steps_per_second(stdout: &str) -> Result<f64, String> {
    stdout
        .lines()
        .filter(|l| l.starts_with("epoch "))
        .find_map(|l| {
            l.rsplit_once(", ")?
                .1
                .strip_suffix(" steps/s)")?
                .parse()
                .ok()
        })
        .ok_or_else(|| format!("no steps/s in the example's output: {stdout}"))
}
