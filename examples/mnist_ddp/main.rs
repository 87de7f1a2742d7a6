//! The `mnist` example trained data-parallel over MPI: every process (rank) holds the same
//! model, trains on its own share of each batch, and the gradients are averaged with an
//! all-reduce before every step, so the models stay identical. labbook reads the rank from
//! the launcher's environment: the job writes one run directory, rank 0's metrics by
//! default, and per-rank streams for the sites marked `ranks = all`. Run it with
//!
//! ```text
//! cargo build --release --example mnist_ddp --features mpi
//! mpirun -n 4 target/release/examples/mnist_ddp       # add --allow-run-as-root as root
//! ```
//!
//! or on its own as a job of one process. It builds on the CPU only.

#[cfg(feature = "cuda")]
compile_error!("mnist_ddp all-reduces host memory: build it without the `cuda` feature");

mod collective;
// The single-process example's data and model, shared rather than copied; `allow`s cover
// the parts only it uses.
#[path = "../mnist/data.rs"]
mod data;
#[path = "../mnist/download.rs"]
mod download;
#[path = "../mnist/font.rs"]
mod font;
#[allow(dead_code)]
#[path = "../mnist/idx.rs"]
mod idx;
#[allow(dead_code)]
#[path = "../mnist/model.rs"]
mod model;
#[path = "../mnist/synthetic.rs"]
mod synthetic;
#[path = "../mnist/training.rs"]
mod training;

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Parser;
use dfdx::prelude::*;
use labbook::prelude::*;
use mpi::environment::Threading;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::collective::Collective;
use crate::data::{Dataset, Source};
use crate::model::{Device, Mlp};
use crate::training::{Report, Training};

/// Train an MLP on MNIST with dfdx on every rank of an MPI job, and record the job with labbook.
///
/// `--batch-size` is the batch of the whole job, split evenly across the ranks: the steps
/// and the learning-rate schedule are those of the single-process `mnist` example.
#[derive(Debug, Parser, Serialize)]
#[command(name = "mnist_ddp")]
struct Hparams {
    #[command(flatten)]
    #[serde(flatten)]
    training: Training,
}

fn main() -> ExitCode {
    // Only the main thread calls MPI; labbook's writer thread never does.
    let Some((universe, _)) = mpi::initialize_with_threading(Threading::Funneled) else {
        eprintln!("error: MPI was initialised already");
        return ExitCode::FAILURE;
    };
    match try_main(&universe.world()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn try_main(world: &SimpleCommunicator) -> Result<()> {
    let launch = labbook::launcher::detect();
    let mpi = (world.rank() as u32, world.size() as u32);
    if (launch.rank, launch.world_size) != mpi {
        bail!(
            "labbook reads rank {} of {} from the {} environment but MPI says rank {} of {}; \
             launch it with mpirun or srun so that they agree",
            launch.rank,
            launch.world_size,
            launch.launcher,
            mpi.0,
            mpi.1
        );
    }
    let mut hp = Hparams::parse();
    let Some(data) = load(world, &mut hp.training)? else {
        bail!("rank 0 could not load the data");
    };
    training::prepare_cpu(world.rank() == 0);
    let report = train(&hp, &data, world)?;
    if world.rank() == 0 {
        report.print();
    }
    Ok(())
}

/// Rank 0 reads the files (downloading them, or falling back to the stand-in) and tells
/// the others what it found; they read the same, never downloading at the same time.
/// `None` on the other ranks when rank 0 failed (its error says why).
fn load(world: &SimpleCommunicator, training: &mut Training) -> Result<Option<Dataset>> {
    let root = world.process_at_rank(0);
    let mut found = [0u8];
    if world.rank() == 0 {
        let loaded = training.load();
        found[0] = match &loaded {
            Ok(data) if data.source == Source::Mnist => 1,
            Ok(_) => 2,
            Err(_) => 0,
        };
        root.broadcast_into(&mut found[..]);
        return loaded.map(Some);
    }
    root.broadcast_into(&mut found[..]);
    Ok(match found[0] {
        1 => Some(training.load()?),
        2 => Some(training.stand_in()),
        _ => None,
    })
}

#[experiment(name = "mnist_ddp")]
fn train(#[config] hp: &Hparams, data: &Dataset, world: &SimpleCommunicator) -> Result<Report> {
    let training = &hp.training;
    let (rank, ranks) = (world.rank() as usize, world.size() as usize);
    #[log(param)]
    let lr = training.lr;
    #[log(param, name = "data")]
    data.source.as_str();
    #[log(param)]
    let world_size = ranks;

    // Each rank draws different weights; the broadcast makes them all rank 0's.
    let dev = Device::seed_from_u64(training.seed + rank as u64);
    let mut model = dev.build_module::<Mlp, f32>();
    let mut collective = Collective::new(world, &model);
    collective.broadcast_parameters(&mut model);
    let mut grads = model.alloc_grads();
    let mut opt = model::optimiser(&model, lr);
    // The same seed on every rank: the same shuffle, of which each rank takes its share.
    let mut rng = StdRng::seed_from_u64(training.seed);
    let mut order: Vec<usize> = (0..data.train.len()).collect();
    let batches = order.len().div_ceil(training.batch_size);
    let total_steps = training.epochs * batches;
    let mut steps = 0;
    let mut accuracy = 0.0;
    for epoch in 0..training.epochs {
        let epoch_start = Instant::now();
        order.shuffle(&mut rng);
        #[progress(name = "train")]
        for batch in order.chunks(training.batch_size) {
            let step_start = Instant::now();
            let mine: Vec<usize> = batch.iter().skip(rank).step_by(ranks).copied().collect();
            let share = mine.len() as f32 / batch.len() as f32;
            let loss = if mine.is_empty() {
                0.0
            } else {
                model::backward(&dev, &mut model, &data.train, &mine, &mut grads)
            };
            #[log(metric, every = 10)]
            let train_loss = collective.average_gradients(&mut model, &mut grads, share, loss);
            let step_lr = model::learning_rate(lr, steps, total_steps);
            model::update(&mut opt, &mut model, &mut grads, step_lr)?;
            steps += 1;
            #[log(metric, ranks = all, every = 10)]
            let step_time_ms = step_start.elapsed().as_secs_f64() * 1e3;
        }
        let seconds = epoch_start.elapsed().as_secs_f64();
        // Every rank evaluates its (identical) model; rank 0 records.
        let result = model::evaluate(&dev, &model, &data.test);
        #[log(metric, step = epoch)]
        let test_loss = result.loss;
        #[log(metric, step = epoch)]
        let test_acc = result.accuracy;
        if rank == 0 {
            println!(
                "epoch {}/{}: test loss {test_loss:.4}, test accuracy {:.2}% ({seconds:.1} s, {:.1} ms a step on {ranks} ranks)",
                epoch + 1,
                training.epochs,
                100.0 * test_acc,
                seconds * 1e3 / batches as f64,
            );
        }
        accuracy = test_acc;
    }
    // Equal on every rank if the models stayed identical; a test compares them to the bit.
    #[log(metric, ranks = all)]
    let param_checksum = collective::checksum(&mut model);
    Ok(Report {
        accuracy,
        run_dir: run().dir().map(Path::to_path_buf),
    })
}
