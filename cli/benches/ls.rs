//! `labbook ls` over a big store, generated here: by default 1,000 runs of 10 metrics with
//! 10,000 points each (5.5 GB, written into a temporary directory and removed afterwards).
//!
//! `cargo bench -p labbook-cli --bench ls`. The store's size comes from the environment:
//!
//! - `LABBOOK_BENCH_RUNS` (1000), `LABBOOK_BENCH_METRICS` (10, at most 10) and
//!   `LABBOOK_BENCH_POINTS` (10000 a metric): `LABBOOK_BENCH_RUNS=100000
//!   LABBOOK_BENCH_POINTS=20` is the 100,000-run row of the README;
//! - `LABBOOK_BENCH_SUMMARIES=off` leaves out the summary of its metrics that a run writes
//!   at its end, so that every run is read as a crashed one (or one an older labbook wrote)
//!   is: from the end of each metric's stream; `LABBOOK_BENCH_SUMMARIES=old` writes summaries
//!   without the config, as labbook did before they recorded it, so that `ls` reads the
//!   run's `config.json` too (three files a run instead of two);
//! - `LABBOOK_BENCH_STORE=DIR` keeps the store in `DIR` and uses it again the next time with
//!   the same counts (generating 100,000 runs takes a minute or two).
//!
//! Every run is finished, as labbook leaves it: its info says `COMPLETE`.
//!
//! The README's figures (section "labbook ls on big stores") come from
//! `LABBOOK_BENCH_RUNS=N LABBOOK_BENCH_POINTS=20 LABBOOK_BENCH_STORE=/tmp/ls-N cargo bench -p
//! labbook-cli --bench ls` on the 2-core development machine; the store of 100,000 runs takes
//! about 7 GB, so remove it when done.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use labbook::store::jsonl::{push_scalar, Point};
use labbook::store::summary::Summary;

static STORE: OnceLock<PathBuf> = OnceLock::new();

/// The allocator the `labbook` command is built with, so that the listing is timed as it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// What the generated store holds.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Counts {
    runs: usize,
    metrics: usize,
    points: usize,
    summaries: Summaries,
}

/// Which summaries the runs have (`LABBOOK_BENCH_SUMMARIES`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Summaries {
    /// As labbook writes them: the last points and the config (`on`, the default).
    Written,
    /// None (`off`).
    Off,
    /// The last points alone, as an older labbook wrote them (`old`).
    Old,
}

fn main() {
    let count = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let counts = Counts {
        runs: count("LABBOOK_BENCH_RUNS", 1000),
        metrics: count("LABBOOK_BENCH_METRICS", METRICS.len()).min(METRICS.len()),
        points: count("LABBOOK_BENCH_POINTS", 10_000),
        summaries: match std::env::var("LABBOOK_BENCH_SUMMARIES").as_deref() {
            Ok("off") => Summaries::Off,
            Ok("old") => Summaries::Old,
            _ => Summaries::Written,
        },
    };
    let temporary;
    let root = match std::env::var_os("LABBOOK_BENCH_STORE") {
        Some(dir) => PathBuf::from(dir),
        None => {
            temporary = tempfile::tempdir().expect("a temporary directory");
            temporary.path().to_owned()
        }
    };
    let marker = root.join(".bench");
    let wanted = format!("{counts:?}");
    if fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        eprintln!("using the store in {} ({wanted})", root.display());
    } else {
        let _ = fs::remove_dir_all(&root);
        let started = Instant::now();
        generate(&root, counts);
        fs::write(&marker, &wanted).expect("the store's marker");
        eprintln!(
            "generated {} runs x {} metrics x {} points (summaries: {:?}) in {:.1} s",
            counts.runs,
            counts.metrics,
            counts.points,
            counts.summaries,
            started.elapsed().as_secs_f64()
        );
    }
    STORE.set(root).expect("set once");
    divan::main();
}

/// `sweep/<id>` with a config, a finished info (tags `baseline` and `optimizer=…`, group
/// `lr-<n>`), every metric's points and, unless told otherwise, the summary of its metrics
/// (which records the config, as a run's does).
/// The bulk of each stream is shared; the last points differ from run to run.
fn generate(root: &Path, counts: Counts) {
    let bulk: Vec<Vec<u8>> = (0..counts.metrics)
        .map(|m| {
            let mut bytes = Vec::with_capacity(counts.points * 60);
            for step in 0..counts.points.saturating_sub(10) as u64 {
                let value = 1.0 / (1.0 + step as f64 * (m + 1) as f64 * 1e-3);
                push_scalar(&mut bytes, step, value, START + step as f64 * 0.25);
            }
            bytes
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for first in 0..threads {
            let bulk = &bulk;
            scope.spawn(move || {
                for id in (1 + first..=counts.runs).step_by(threads) {
                    write_run(root, id, counts, bulk);
                }
            });
        }
    });
}

/// 2024-11-23 13:53:20 UTC.
const START: f64 = 1_732_370_000.0;

fn write_run(store: &Path, id: usize, counts: Counts, bulk: &[Vec<u8>]) {
    let dir = store.join("sweep").join(id.to_string());
    fs::create_dir_all(dir.join("metadata")).unwrap();
    let optimizer = if id.is_multiple_of(2) { "adam" } else { "sgd" };
    let end_unix = START + id as f64 + 2500.0;
    let info = serde_json::json!({
        "experiment": "sweep", "id": id, "status": "COMPLETE",
        "start_time": "2024-11-23T13:53:20.000Z", "start_unix": START + id as f64,
        "end_time": "2024-11-23T14:35:00.000Z", "end_unix": end_unix, "duration_s": 2500.0,
        "function": "train", "source_file": "benches/ls.rs", "command": ["train"],
        "executable": null, "working_dir": null, "host": "node-17", "user": "alice",
        "pid": 1000 + id, "rank": 0, "world_size": 1, "launcher": "none",
        "labbook_version": "0.1.0", "features": [], "backends": ["local"],
        "tags": {"baseline": "", "optimizer": optimizer}, "group": format!("lr-{}", id % 4),
        "queue_blocked_s": 0.0,
    });
    fs::write(dir.join("metadata/info.json"), info.to_string()).unwrap();
    let config = serde_json::json!({
        "lr": 10f64.powi(-((id % 4) as i32) - 1), "batch_size": 32 << (id % 3),
        "optimizer": optimizer, "seed": id,
    });
    fs::write(dir.join("metadata/config.json"), config.to_string()).unwrap();
    let mut last = BTreeMap::new();
    for (m, name) in METRICS.iter().take(counts.metrics).enumerate() {
        let path = dir.join("metrics").join(format!("{name}.jsonl"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut file = fs::File::create(&path).unwrap();
        file.write_all(&bulk[m]).unwrap();
        let mut tail = Vec::new();
        for step in counts.points.saturating_sub(10)..counts.points {
            let value = (id * 31 + m * 7 + step) as f64 % 1000.0 / 1000.0;
            let time = START + step as f64 * 0.25;
            push_scalar(&mut tail, step as u64, value, time);
            let step = step as u64;
            last.insert(name.to_string(), Point { step, value, time });
        }
        file.write_all(&tail).unwrap();
    }
    if counts.summaries != Summaries::Off {
        let metrics = last;
        let summary = Summary {
            rank: 0,
            end_unix,
            metrics,
        };
        summary.write(&dir).unwrap();
    }
    if counts.summaries == Summaries::Old {
        let path = dir.join("metadata/summary.json");
        let mut written: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        written.as_object_mut().unwrap().remove("config");
        fs::write(&path, written.to_string()).unwrap();
    }
}

fn ls(args: &[&str]) {
    let root = STORE.get().expect("generated").to_str().unwrap();
    let mut argv = vec!["labbook", "--dir", root, "ls"];
    argv.extend(args);
    labbook_cli::run(argv, &mut std::io::sink()).expect("ls succeeds");
}

/// The table of every run: info, config and the last point of each metric.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn ls_table() {
    ls(&[]);
}

/// The same, filtered and sorted on a metric and a config key.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn ls_where_sort() {
    ls(&["--where", "lr<0.01", "--sort", "test_acc", "--desc"]);
}

/// The runs with a tag (half of them) in a group (a quarter of those).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn ls_tag_group() {
    ls(&["--tag", "optimizer=adam", "--group", "lr-2"]);
}

/// Scripts' view: every run as JSON.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn ls_json() {
    ls(&["--json"]);
}
