//! What the system-metrics sampler costs: the time of one sample, which the sampler thread
//! spends once an interval (10 s by default) off the training thread.
//!
//! `cargo bench -p labbook --bench system`. The CPU share at an interval is the sample's
//! time divided by the interval: 100 µs every 10 s is 0.001 %.

use divan::{black_box, Bencher};
use labbook::system::Probe;

fn main() {
    divan::main();
}

/// One reading of every metric (CPU, memory, disk and network of the process and the
/// machine, and the GPUs with `--features nvml`).
#[divan::bench]
fn one_sample(bencher: Bencher<'_, '_>) {
    let mut probe = Probe::new();
    let mut values = Vec::new();
    bencher.bench_local(|| {
        probe.sample(&mut values);
        black_box(values.len())
    });
}

/// Making the probe: done once a run, on the sampler thread.
#[divan::bench(sample_count = 20)]
fn start() -> Probe {
    Probe::new()
}
