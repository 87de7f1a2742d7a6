//! What a log site costs the training thread, and how fast points reach the run store.
//!
//! `cargo bench -p labbook --bench sites`. Compare `not_firing_*` with `baseline`: the
//! difference is the cost of a site whose gate is closed. `one_million_points_*` write
//! into `$TMPDIR`: the figure is that file system's.

use std::sync::mpsc;
use std::thread;

use divan::{black_box, Bencher};
use labbook::prelude::*;

fn main() {
    let dir = std::env::temp_dir().join(format!("labbook-bench-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &dir);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    divan::main();
    let _ = std::fs::remove_dir_all(dir);
}

/// The loop body without a site.
#[divan::bench]
fn baseline(bencher: Bencher<'_, '_>) {
    bencher.bench_local(|| black_box(1.0_f64));
}

/// `every = N` between two firings.
#[divan::bench]
fn not_firing_frequency_gated(bencher: Bencher<'_, '_>) {
    frequency_gated(bencher);
}

#[experiment(name = "bench")]
fn frequency_gated(bencher: Bencher<'_, '_>) {
    bencher.bench_local(|| {
        #[log(metric, every = 1_000_000_000_000)]
        let loss = black_box(1.0_f64);
        loss
    });
}

/// A rank-0 site on a rank that does not log.
#[divan::bench]
fn not_firing_rank_gated(bencher: Bencher<'_, '_>) {
    rank_gated(bencher);
}

#[experiment(name = "bench")]
fn rank_gated(bencher: Bencher<'_, '_>) {
    bencher.bench_local(|| {
        #[log(metric, ranks = [3])]
        let loss = black_box(1.0_f64);
        loss
    });
}

/// A site that fires every time: the training thread's share (build the record, push it).
/// 50,000 points, fewer than the queue holds, so this never waits on the writer.
#[divan::bench(sample_count = 500, sample_size = 100)]
fn firing_metric(bencher: Bencher<'_, '_>) {
    firing(bencher);
}

#[experiment(name = "bench")]
fn firing(bencher: Bencher<'_, '_>) {
    bencher.bench_local(|| {
        #[log(metric)]
        let loss = black_box(1.0_f64);
        loss
    });
}

/// A run of one million points, its start and end included (the experiment returns after
/// the last point is written and synced).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn one_million_points_durable(bencher: Bencher<'_, '_>) {
    bencher.bench_local(|| million(black_box(1_000_000)));
}

/// One million points from the first log call until the run has ended with every point
/// written and synced in the run store. The run has started (and its writer is waiting)
/// before the clock starts: the figure is the log calls, the writer and the final sync.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn one_million_points_first_call_to_durable(bencher: Bencher<'_, '_>) {
    bencher
        .with_inputs(|| Started::new(1_000_000))
        .bench_local_values(Started::go);
}

/// A run started on a thread of its own, waiting for the go to log its points.
struct Started {
    go: mpsc::SyncSender<()>,
    run: thread::JoinHandle<()>,
}

impl Started {
    fn new(points: u64) -> Started {
        let (ready, started) = mpsc::sync_channel(0);
        let (go, wait) = mpsc::sync_channel(0);
        let run = thread::spawn(move || million_on_go(points, &ready, &wait));
        started.recv().expect("the run starts");
        Started { go, run }
    }

    /// Returns once the run has ended.
    fn go(self) {
        self.go.send(()).expect("the run waits for the go");
        self.run.join().expect("the run ends");
    }
}

#[experiment(name = "bench")]
fn million_on_go(points: u64, ready: &mpsc::SyncSender<()>, go: &mpsc::Receiver<()>) {
    ready.send(()).expect("the bench waits for the start");
    go.recv().expect("the bench gives the go");
    for i in 0..points {
        #[log(metric)]
        let loss = i as f64 * 1e-6;
    }
}

#[experiment(name = "bench")]
fn million(points: u64) {
    for i in 0..points {
        #[log(metric)]
        let loss = i as f64 * 1e-6;
    }
}
