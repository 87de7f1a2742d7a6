//! What a log site costs the training thread, and how fast points reach the run store.
//!
//! `cargo bench -p labbook --bench sites`. Compare `not_firing_*` with `baseline`: the
//! difference is the cost of a site whose gate is closed.

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

/// One million points from the first log call until they are durable in the run store
/// (the experiment returns after the last one is written and synced).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn one_million_points_durable(bencher: Bencher<'_, '_>) {
    bencher.bench_local(|| million(black_box(1_000_000)));
}

#[experiment(name = "bench")]
fn million(points: u64) {
    for i in 0..points {
        #[log(metric)]
        let loss = i as f64 * 1e-6;
    }
}
