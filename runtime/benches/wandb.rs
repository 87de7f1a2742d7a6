//! 100,000 scalars end to end into a W&B offline run: one whole run, from the call of the
//! `#[experiment]` function until every point is in the `.wandb` file (and the local store)
//! and the files are synced. `local_store_only` is the same run with `WANDB_MODE=disabled`,
//! so the difference is what the W&B backend costs.
//!
//! `cargo bench -p labbook --features wandb --bench wandb`; the Python peer is
//! `xtask/bench/wandb_peer.py` (`wandb` offline, `run.log` of the same 100,000 points).

use divan::{black_box, Bencher};
use labbook::prelude::*;

fn main() {
    let dir = std::env::temp_dir().join(format!("labbook-bench-wandb-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &dir);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    divan::main();
    let _ = std::fs::remove_dir_all(dir);
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn scalars_100k_to_wandb(bencher: Bencher<'_, '_>) {
    std::env::remove_var("WANDB_MODE");
    bencher.bench_local(|| scalars(black_box(100_000)));
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn local_store_only(bencher: Bencher<'_, '_>) {
    std::env::set_var("WANDB_MODE", "disabled");
    bencher.bench_local(|| scalars(black_box(100_000)));
}

#[experiment(name = "bench_wandb")]
fn scalars(points: u64) {
    for i in 0..points {
        #[log(metric)]
        let loss = 1.0 / (i as f64 + 1.0);
    }
}
