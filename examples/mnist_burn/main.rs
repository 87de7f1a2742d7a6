//! Trains a small convolutional network on MNIST with burn on the CPU (its `flex` backend,
//! with autodiff), on the same data as the `mnist` example (its modules, shared), and
//! records the same names: `train_loss` every 10 steps as a burn tensor, test loss, accuracy
//! and the epoch at the global step, the first convolution's weights as a histogram, a grid
//! of predictions, a checkpoint of the model and Adam's state each epoch, and a summary.
//! `--resume ID` continues a run from its last checkpoint. Run it with
//! `cargo run --release --example mnist_burn --features burn` (`-- --help` lists the flags);
//! without the MNIST files it trains on the labelled stand-in. On a GPU: `--features
//! burn-wgpu` and `-- --device wgpu` (through Vulkan, Metal or DirectX 12).

#[path = "../mnist/data.rs"]
mod data;
#[path = "../mnist/download.rs"]
mod download;
#[path = "../mnist/font.rs"]
mod font;
#[path = "../mnist/idx.rs"]
mod idx;
mod model;
#[path = "../mnist/preview.rs"]
mod preview;
#[path = "../mnist/synthetic.rs"]
mod synthetic;
#[path = "../mnist/training.rs"]
mod training;

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::tensor::Device;
use clap::Parser;
use labbook::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::data::Dataset;
use crate::training::{Report, Training};

/// Train a CNN on MNIST with burn and record the run with labbook.
#[derive(Debug, Parser, Serialize, Deserialize)]
#[command(name = "mnist_burn")]
struct Hparams {
    #[command(flatten)]
    #[serde(flatten)]
    training: Training,
    /// Continue run ID of the `mnist_burn` experiment from its last checkpoint.
    #[arg(long, value_name = "ID")]
    resume: Option<u64>,
    /// Where burn trains.
    #[arg(long, value_enum, default_value_t = Backend::Flex)]
    device: Backend,
}

/// burn's backends this example trains on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Backend {
    /// burn's pure-Rust CPU backend (SIMD kernels on every core).
    Flex,
    /// Any GPU, through Vulkan, Metal or DirectX 12 (build with `--features burn-wgpu`).
    Wgpu,
}

fn main() -> ExitCode {
    match try_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn try_main() -> Result<()> {
    // The mirror is no config key (it may carry credentials): carried over by hand.
    let flags = Hparams::parse();
    let mirror = flags.training.mirror.clone();
    let mut hp = labbook::config(flags)?;
    hp.training.mirror = mirror;
    hp.training.check()?;
    // Before the data: a build without the backend asked for says so at once.
    let dev = device(hp.device)?;
    let data = hp.training.load()?;
    training::prepare_cpu(true);
    train(&hp, &data, &dev)?.print();
    Ok(())
}

/// The device `backend` names, with autodiff; an error that says which feature to build
/// with when this build lacks it.
fn device(backend: Backend) -> Result<Device> {
    let device = match backend {
        Backend::Flex => Device::flex(),
        #[cfg(feature = "burn-wgpu")]
        Backend::Wgpu => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        #[allow(unreachable_patterns)]
        missing => {
            let name = format!("{missing:?}").to_lowercase();
            anyhow::bail!(
                "this build of mnist_burn cannot train on {name}: build it with `--features burn-{name}`"
            )
        }
    };
    Ok(device.autodiff())
}

#[experiment(name = "mnist_burn", resume = hp.resume)]
fn train(#[config] hp: &Hparams, data: &Dataset, dev: &Device) -> Result<Report> {
    let flags = &hp.training;
    #[log(param)]
    let lr = flags.lr;
    #[log(param, name = "data")]
    data.source.as_str();

    let mut training = model::training(dev, flags.seed);
    let loss = model::loss(dev);
    let mut rng = StdRng::seed_from_u64(flags.seed);
    let mut order: Vec<usize> = (0..data.train.len()).collect();
    // A resumed run continues after the epoch of its last checkpoint, with the shuffles
    // and the learning-rate schedule where they were.
    let first_epoch = run()
        .restore(&mut training)?
        .map_or(0, |epoch| epoch as usize + 1);
    for _ in 0..first_epoch {
        order.shuffle(&mut rng);
    }
    println!(
        "training a CNN ({} weights) with burn on {} {} images, testing on {}",
        training.model.weights(),
        data.train.len(),
        data.source.as_str(),
        data.test.len()
    );
    let batches = order.len().div_ceil(flags.batch_size);
    let total_steps = flags.epochs * batches;
    let (started, mut steps, mut train_seconds) = (Instant::now(), first_epoch * batches, 0.0);
    let mut test = None;
    for epoch in first_epoch..flags.epochs {
        let epoch_start = Instant::now();
        order.shuffle(&mut rng);
        #[progress(name = "train")]
        for batch in order.chunks(flags.batch_size) {
            let step_lr = model::learning_rate(lr, steps, total_steps);
            // A burn tensor: read back to the host only on the steps it is recorded.
            #[log(metric, every = 10)]
            let train_loss = model::step(dev, &mut training, &loss, &data.train, batch, step_lr);
            steps += 1;
        }
        let seconds = epoch_start.elapsed().as_secs_f64();
        train_seconds += seconds;
        let result = model::evaluate(dev, &training.model, &data.test);
        // The epoch's metrics share `train_loss`'s x axis, the global step.
        #[log(metric, step = steps)]
        let test_loss = result.loss;
        #[log(metric, step = steps)]
        let test_acc = result.accuracy;
        #[log(metric, name = "epoch", step = steps)]
        epoch;
        #[log(histogram, name = "conv1/weight", step = epoch)]
        training.model.conv1.weight.val();
        #[log(image, name = "predictions", step = epoch)]
        preview::grid(&data.test, &result.predictions, 16, 4).into_image();
        // The model and Adam's moments in one file: what `--resume` continues from.
        #[log(checkpoint, keep = 3, step = epoch)]
        &training;
        println!(
            "epoch {}/{}: test loss {test_loss:.4}, test accuracy {:.2}% ({seconds:.1} s, {:.0} steps/s)",
            epoch + 1,
            flags.epochs,
            100.0 * test_acc,
            batches as f64 / seconds,
        );
        test = Some(result);
    }
    let test = test
        .context("no epoch left to run: the resumed run had finished its epochs; raise --epochs")?;
    let total = started.elapsed().as_secs_f64();
    #[log(text, name = "summary")]
    format!(
        "{:.2}% test accuracy after {} epochs on {} {} training images: {steps} steps of {} in {total:.0} s ({:.0} steps/s)",
        100.0 * test.accuracy,
        flags.epochs,
        data.train.len(),
        data.source.as_str(),
        flags.batch_size,
        steps as f64 / train_seconds,
    );
    let run_dir = run().dir().map(Path::to_path_buf);
    Ok(Report {
        accuracy: test.accuracy,
        run_dir,
    })
}
