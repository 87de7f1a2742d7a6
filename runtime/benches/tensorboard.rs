//! 100,000 scalars end to end into TensorBoard event files: from the first log call until
//! every point is in the run's event file (and in the local store) and the files are synced.
//!
//! `cargo bench -p labbook --features tensorboard --bench tensorboard`; the Python peer is
//! `xtask/bench/tb_peer.py` (tensorboardX `add_scalar`, the same 100,000 points).

use divan::{black_box, Bencher};
use labbook::prelude::*;

fn main() {
    let dir = std::env::temp_dir().join(format!("labbook-bench-tb-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &dir);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    divan::main();
    let _ = std::fs::remove_dir_all(dir);
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn scalars_100k_to_tfevents(bencher: Bencher<'_, '_>) {
    bencher.bench_local(|| scalars(black_box(100_000)));
}

#[experiment(name = "bench_tensorboard")]
fn scalars(points: u64) {
    for i in 0..points {
        #[log(metric)]
        let loss = 1.0 / (i as f64 + 1.0);
    }
}
