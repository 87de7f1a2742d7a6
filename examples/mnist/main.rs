//! Trains a multi-layer perceptron on MNIST with dfdx 0.13 and records the run with labbook:
//! the flags are the experiment's `#[config]`, which `labbook::config` then overrides from
//! `--set key=value`, `LABBOOK_SET="lr=0.01,batch_size=128"` and a `--config hp.toml` file
//! (how `labbook sweep` sets each trial's point), the training loss is logged every 10 steps,
//! test loss, accuracy and the epoch once an epoch at the same global step (so the charts line
//! up in every UI), and a summary at the end. Run it with
//! `cargo run --release --example mnist` (`-- --help` lists the flags); it reads or downloads
//! the MNIST files, and trains on a generated stand-in, loudly labelled, when it can do neither.

mod data;
mod download;
mod font;
mod idx;
mod model;
mod preview;
mod synthetic;
mod training;

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use dfdx::prelude::*;
use labbook::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::data::Dataset;
use crate::model::{Device, Mlp};
use crate::training::{Report, Training};

/// How often `train_loss` is recorded: every 10 steps, or every step with the
/// `log-every-step` feature (which measures what logging every step costs).
const TRAIN_LOG_EVERY: u64 = if cfg!(feature = "log-every-step") {
    1
} else {
    10
};

/// Train an MLP on MNIST with dfdx and record the run with labbook.
///
/// The flags are sugar for the config keys `labbook::config` overrides: `--lr 0.01` is
/// `--set lr=0.01`; `--set` and `LABBOOK_SET` reach every key, `--config` reads a TOML file.
#[derive(Debug, Parser, Serialize, Deserialize)]
#[command(name = "mnist")]
struct Hparams {
    #[command(flatten)]
    #[serde(flatten)]
    training: Training,
    /// Continue run ID of the `mnist` experiment from its last checkpoint.
    #[arg(long, value_name = "ID")]
    resume: Option<u64>,
    /// Sets a config key, after the flags: `--set lr=0.01` (repeatable; keys as in
    /// metadata/config.json). `LABBOOK_SET="lr=0.01,epochs=3"` does the same.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    #[serde(skip)]
    set: Vec<String>,
    /// A TOML file of config keys, applied before LABBOOK_SET and --set (also LABBOOK_CONFIG).
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    config: Option<std::path::PathBuf>,
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
    // labbook reads `--set` and `--config` from the command line itself. Fields the config
    // skips come back as their default: the mirror is carried over by hand.
    let flags = Hparams::parse();
    let mirror = flags.training.mirror.clone();
    let mut hp = labbook::config(flags)?;
    hp.training.mirror = mirror;
    hp.training.check()?;
    let data = hp.training.load()?;
    training::prepare_cpu(true);
    train(&hp, &data)?.print();
    Ok(())
}

#[experiment(name = "mnist", resume = hp.resume)]
fn train(#[config] hp: &Hparams, data: &Dataset) -> Result<Report> {
    let training = &hp.training;
    #[log(param)]
    let lr = training.lr;
    #[log(param, name = "data")]
    data.source.as_str();

    let dev = Device::seed_from_u64(training.seed);
    let mut model = dev.build_module::<Mlp, f32>();
    let mut grads = model.alloc_grads();
    let mut opt = model::optimiser(&model, lr);
    let mut rng = StdRng::seed_from_u64(training.seed);
    let mut order: Vec<usize> = (0..data.train.len()).collect();
    // A resumed run continues after the epoch of its last checkpoint, with the shuffles
    // and the learning-rate schedule where they were.
    let first_epoch = run()
        .restore(&mut model)?
        .map_or(0, |epoch| epoch as usize + 1);
    for _ in 0..first_epoch {
        order.shuffle(&mut rng);
    }
    println!(
        "training a 784-512-128-10 MLP ({} weights) on {} {} images, testing on {}",
        model.num_trainable_params(),
        data.train.len(),
        data.source.as_str(),
        data.test.len()
    );
    let batches = order.len().div_ceil(training.batch_size);
    let total_steps = training.epochs * batches;
    let (started, mut steps, mut train_seconds) = (Instant::now(), first_epoch * batches, 0.0);
    let mut test = None;
    for epoch in first_epoch..training.epochs {
        let epoch_start = Instant::now();
        let mut loss_sum = 0.0;
        order.shuffle(&mut rng);
        #[progress(name = "train")]
        for batch in order.chunks(training.batch_size) {
            #[log(metric, every = TRAIN_LOG_EVERY)]
            let train_loss = model::backward(&dev, &mut model, &data.train, batch, &mut grads);
            loss_sum += train_loss;
            let step_lr = model::learning_rate(lr, steps, total_steps);
            model::update(&mut opt, &mut model, &mut grads, step_lr)?;
            steps += 1;
        }
        let seconds = epoch_start.elapsed().as_secs_f64();
        train_seconds += seconds;
        let result = model::evaluate(&dev, &model, &data.test);
        // The epoch's metrics share `train_loss`'s x axis, the global step (the steps done so
        // far), so every UI lines their charts up; the epoch is a metric of its own.
        #[log(metric, step = steps)]
        let test_loss = result.loss;
        #[log(metric, step = steps)]
        let test_acc = result.accuracy;
        #[log(metric, name = "epoch", step = steps)]
        epoch;
        #[log(histogram, name = "fc1/weight", step = epoch)]
        &model.0 .0.weight;
        #[log(image, name = "predictions", step = epoch)]
        preview::grid(&data.test, &result.predictions, 16, 4).into_image();
        #[log(checkpoint, keep = 3, step = epoch)]
        &model;
        println!(
            "epoch {}/{}: train loss {:.4}, test loss {test_loss:.4}, test accuracy {:.2}% ({seconds:.1} s, {:.0} steps/s)",
            epoch + 1,
            training.epochs,
            loss_sum / batches as f32,
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
        training.epochs,
        data.train.len(),
        data.source.as_str(),
        training.batch_size,
        steps as f64 / train_seconds,
    );
    let run_dir = run().dir().map(Path::to_path_buf);
    Ok(Report {
        accuracy: test.accuracy,
        run_dir,
    })
}
