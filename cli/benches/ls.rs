//! `labbook ls` over a big store: 1,000 runs of 10 metrics with 10,000 points each (5.5 GB,
//! written once into a temporary directory and removed afterwards).
//!
//! `cargo bench -p labbook-cli --bench ls`; `LABBOOK_BENCH_RUNS` and
//! `LABBOOK_BENCH_POINTS` make the store smaller.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use labbook::store::jsonl::push_scalar;

static STORE: OnceLock<PathBuf> = OnceLock::new();

const METRICS: [&str; 10] = [
    "train/loss",
    "train/acc",
    "val/loss",
    "val/acc",
    "lr",
    "grad_norm",
    "throughput",
    "epoch",
    "test_acc",
    "test_loss",
];

fn main() {
    let count = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (runs, points) = (
        count("LABBOOK_BENCH_RUNS", 1000),
        count("LABBOOK_BENCH_POINTS", 10_000),
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let started = Instant::now();
    generate(dir.path(), runs, points);
    eprintln!(
        "generated {runs} runs x {} metrics x {points} points in {:.1} s",
        METRICS.len(),
        started.elapsed().as_secs_f64()
    );
    STORE.set(dir.path().to_owned()).expect("set once");
    divan::main();
}

/// `sweep/<id>` with a config, a complete info, and every metric's points. The bulk of each
/// stream is shared; the last points differ from run to run.
fn generate(root: &Path, runs: usize, points: usize) {
    let start = 1_732_370_000.0;
    let bulk: Vec<Vec<u8>> = (0..METRICS.len())
        .map(|m| {
            let mut bytes = Vec::with_capacity(points * 60);
            for step in 0..points.saturating_sub(10) as u64 {
                let value = 1.0 / (1.0 + step as f64 * (m + 1) as f64 * 1e-3);
                push_scalar(&mut bytes, step, value, start + step as f64 * 0.25);
            }
            bytes
        })
        .collect();
    for id in 1..=runs {
        let dir = root.join("sweep").join(id.to_string());
        fs::create_dir_all(dir.join("metadata")).unwrap();
        let info = serde_json::json!({
            "experiment": "sweep", "id": id, "status": "COMPLETE",
            "start_time": "2024-11-23T13:53:20.000Z", "start_unix": start + id as f64,
            "end_unix": start + id as f64 + 2500.0, "duration_s": 2500.0,
            "function": "train", "source_file": "benches/ls.rs", "command": ["train"],
            "executable": null, "working_dir": null, "host": "node-17", "user": "alice",
            "pid": 1000 + id, "rank": 0, "world_size": 1, "launcher": "none",
            "labbook_version": "0.1.0", "features": [], "backends": ["local"],
            "queue_blocked_s": 0.0,
        });
        fs::write(dir.join("metadata/info.json"), info.to_string()).unwrap();
        let config = serde_json::json!({
            "lr": 10f64.powi(-((id % 4) as i32) - 1), "batch_size": 32 << (id % 3),
            "optimizer": if id % 2 == 0 { "adam" } else { "sgd" }, "seed": id,
        });
        fs::write(dir.join("metadata/config.json"), config.to_string()).unwrap();
        for (m, name) in METRICS.iter().enumerate() {
            let path = dir.join("metrics").join(format!("{name}.jsonl"));
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            let mut file = fs::File::create(&path).unwrap();
            file.write_all(&bulk[m]).unwrap();
            let mut tail = Vec::new();
            for step in points.saturating_sub(10)..points {
                let value = (id * 31 + m * 7 + step) as f64 % 1000.0 / 1000.0;
                push_scalar(&mut tail, step as u64, value, start + step as f64 * 0.25);
            }
            file.write_all(&tail).unwrap();
        }
    }
}

fn ls(args: &[&str]) {
    let root = STORE.get().expect("generated").to_str().unwrap();
    let mut argv = vec!["labbook", "--dir", root, "ls"];
    argv.extend(args);
    labbook_cli::run(argv, &mut std::io::sink()).expect("ls succeeds");
}

/// The table of every run: info, config and the last line of each of 10,000 streams.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn ls_table() {
    ls(&[]);
}

/// The same, filtered and sorted on a metric and a config key.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn ls_where_sort() {
    ls(&["--where", "lr<0.01", "--sort", "test_acc", "--desc"]);
}

/// Scripts' view: every run as JSON.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn ls_json() {
    ls(&["--json"]);
}
