//! The Rust side of `cargo xtask bench-compare`: the workloads of the Python peers
//! (`xtask/bench/peers.py`), one JSON line each on stdout.
//!
//! - `gate-*`: ns per execution of a site that does not fire, net of the empty loop;
//! - `firing`: ns the training thread spends per site that fires (the queue has room);
//! - `<backend>`: 100,000 scalars at steps 0..n-1 from the first log call until the run is
//!   finished (every point durable in the local store and handed to that backend).
//!
//! Backends are picked per run with `LABBOOK_BACKENDS`; MLflow needs `MLFLOW_TRACKING_URI`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use labbook::prelude::*;

const POINTS: u64 = 100_000;
const GATE_CALLS: u64 = 10_000_000;

fn main() {
    let root = std::env::var_os("LABBOOK_DIR").map_or_else(
        || std::env::temp_dir().join("labbook-compare"),
        PathBuf::from,
    );
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    std::env::set_var("LABBOOK_PROGRESS", "off");
    std::env::set_var("LABBOOK_BACKENDS", "local");
    let empty = empty_loop(GATE_CALLS);
    report(
        "gate-frequency",
        GATE_CALLS,
        gated(GATE_CALLS) - empty,
        None,
    );
    report(
        "gate-rank",
        GATE_CALLS,
        rank_gated(GATE_CALLS) - empty,
        None,
    );
    let (seconds, dir) = firing(50_000);
    report("firing", 50_000, seconds, Some(dir));
    let mut backends = vec!["local", "tensorboard", "wandb"];
    if std::env::var_os("MLFLOW_TRACKING_URI").is_some() {
        backends.push("mlflow");
    }
    for backend in backends {
        std::env::set_var("LABBOOK_BACKENDS", backend);
        let start = Instant::now();
        let (dir, log_seconds) = points(POINTS);
        report_with(
            backend,
            POINTS,
            start.elapsed().as_secs_f64(),
            Some(dir),
            log_seconds,
        );
    }
    // Peak memory stays flat however many points a run logs: the queue is bounded.
    std::env::set_var("LABBOOK_BACKENDS", "local");
    for n in [1_000_000, 10_000_000] {
        let start = Instant::now();
        let (dir, _) = points(n);
        let seconds = start.elapsed().as_secs_f64();
        report(&format!("memory-{n}"), n, seconds, None);
        println!(
            "{{\"workload\":\"peak-rss-{n}\",\"kib\":{}}}",
            peak_rss_kib()
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The process's peak resident set (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn report(workload: &str, n: u64, seconds: f64, dir: Option<PathBuf>) {
    report_with(workload, n, seconds, dir, seconds);
}

/// `log_seconds`: the part of `seconds` the training thread spent in the log calls.
fn report_with(workload: &str, n: u64, seconds: f64, dir: Option<PathBuf>, log_seconds: f64) {
    let dir = dir.map(|d| d.display().to_string()).unwrap_or_default();
    println!(
        "{{\"workload\":\"{workload}\",\"n\":{n},\"seconds\":{seconds},\"log_seconds\":{log_seconds},\"ns_per_call\":{},\"dir\":{:?}}}",
        seconds * 1e9 / n as f64,
        dir
    );
}

fn empty_loop(n: u64) -> f64 {
    let start = Instant::now();
    for i in 0..n {
        black_box(i);
    }
    start.elapsed().as_secs_f64()
}

#[experiment(name = "compare")]
fn gated(n: u64) -> f64 {
    let start = Instant::now();
    for i in 0..n {
        #[log(metric, every = 100)]
        let loss = black_box(i);
    }
    start.elapsed().as_secs_f64()
}

#[experiment(name = "compare")]
fn rank_gated(n: u64) -> f64 {
    let start = Instant::now();
    for i in 0..n {
        #[log(metric, ranks = [1])]
        let loss = black_box(i);
    }
    start.elapsed().as_secs_f64()
}

#[experiment(name = "compare")]
fn firing(n: u64) -> (f64, PathBuf) {
    let start = Instant::now();
    for i in 0..n {
        #[log(metric)]
        let loss = 1.0 / (black_box(i) as f64 + 1.0);
    }
    (
        start.elapsed().as_secs_f64(),
        run().dir().unwrap().to_owned(),
    )
}

/// Logs `n` points; returns the run directory and the seconds the log calls took (the
/// call itself returns once every point is durable and handed to the backends).
#[experiment(name = "compare")]
fn points(n: u64) -> (PathBuf, f64) {
    let start = Instant::now();
    for i in 0..n {
        #[log(metric)]
        let loss = 1.0 / (i as f64 + 1.0);
    }
    (
        run().dir().unwrap().to_owned(),
        start.elapsed().as_secs_f64(),
    )
}
