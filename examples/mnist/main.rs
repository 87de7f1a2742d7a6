//! Trains a multi-layer perceptron on MNIST with dfdx 0.13 and records the run with labbook:
//! the flags are the experiment's `#[config]`, the training loss is logged every 10 steps,
//! test loss and accuracy once an epoch, and a summary at the end. Run it with
//! `cargo run --release --example mnist` (`-- --help` lists the flags); it reads or downloads
//! the MNIST files, and trains on a generated stand-in, loudly labelled, when it can do neither.

mod data;
mod download;
mod font;
mod idx;
mod model;
mod preview;
mod synthetic;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use dfdx::optim::Adam;
use dfdx::prelude::*;
use labbook::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::data::Dataset;
use crate::model::{Device, Mlp};

/// Train an MLP on MNIST with dfdx and record the run with labbook.
#[derive(Debug, Parser, Serialize)]
#[command(name = "mnist")]
struct Hparams {
    /// Passes over the training set.
    #[arg(long, default_value_t = 5, value_parser = positive)]
    epochs: usize,
    /// Samples per optimiser step.
    #[arg(long, default_value_t = 64, value_parser = positive)]
    batch_size: usize,
    /// Adam's learning rate at the start, annealed to zero along a cosine.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Seeds the weights, the shuffling and the stand-in data.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where the IDX files are, raw or .gz [default: $LABBOOK_DATA/mnist, else data/mnist].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Train on the first N training samples only.
    #[arg(long, value_name = "N", value_parser = positive)]
    limit_train: Option<usize>,
    /// Continue run ID of the `mnist` experiment from its last checkpoint.
    #[arg(long, value_name = "ID")]
    resume: Option<u64>,
    /// Fail when MNIST can be neither read nor downloaded, instead of using the stand-in.
    #[arg(long)]
    require_data: bool,
    /// Download from this base URL instead of the public mirrors.
    #[arg(long, value_name = "URL", env = "MNIST_MIRROR")]
    #[serde(skip)]
    mirror: Option<String>,
}

fn positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// What a finished run reports back to `main`.
struct Report {
    accuracy: f32,
    run_dir: Option<PathBuf>,
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
    let mut hp = Hparams::parse();
    let dir = hp.data_dir.get_or_insert_with(default_data_dir).clone();
    let mut data = data::load(&data::Request {
        dir: &dir,
        mirror: hp.mirror.as_deref(),
        require_data: hp.require_data,
        train_len: hp.limit_train.unwrap_or(60_000),
        seed: hp.seed,
    })?;
    if let Some(n) = hp.limit_train {
        data.train.truncate(n);
    }
    if cfg!(debug_assertions) {
        eprintln!(
            "note: a debug build trains hundreds of times slower; add `--release` to `cargo run`."
        );
    }
    dfdx::flush_denormals_to_zero();
    let report = train(&hp, &data)?;
    println!("final test accuracy {:.2}%", 100.0 * report.accuracy);
    if let Some(dir) = report.run_dir {
        println!("run directory: {}", dir.display());
    }
    Ok(())
}

/// `$LABBOOK_DATA/mnist`, or `data/mnist`.
fn default_data_dir() -> PathBuf {
    std::env::var_os("LABBOOK_DATA")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("data"), PathBuf::from)
        .join("mnist")
}

#[experiment(name = "mnist", resume = hp.resume)]
fn train(#[config] hp: &Hparams, data: &Dataset) -> Result<Report> {
    #[log(param)]
    let lr = hp.lr;
    #[log(param, name = "data")]
    data.source.as_str();

    let dev = Device::seed_from_u64(hp.seed);
    let mut model = dev.build_module::<Mlp, f32>();
    let mut grads = model.alloc_grads();
    let mut opt = Adam::new(
        &model,
        AdamConfig {
            lr,
            ..Default::default()
        },
    );
    let mut rng = StdRng::seed_from_u64(hp.seed);
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
    let batches = order.len().div_ceil(hp.batch_size);
    let total_steps = hp.epochs * batches;
    let (started, mut steps, mut train_seconds) = (Instant::now(), first_epoch * batches, 0.0);
    let mut test = None;
    for epoch in first_epoch..hp.epochs {
        let epoch_start = Instant::now();
        let mut loss_sum = 0.0;
        order.shuffle(&mut rng);
        #[progress(name = "train")]
        for batch in order.chunks(hp.batch_size) {
            let images = model::images(&dev, &data.train, batch);
            let logits = model.forward_mut(images.traced(grads));
            let loss =
                cross_entropy_with_logits_loss(logits, model::targets(&dev, &data.train, batch));
            #[log(metric, every = 10)]
            let train_loss = loss.array();
            loss_sum += train_loss;
            grads = loss.backward();
            opt.cfg.lr = model::learning_rate(lr, steps, total_steps);
            opt.update(&mut model, &grads)
                .map_err(|e| anyhow!("the optimiser step failed: {e}"))?;
            model.zero_grads(&mut grads);
            steps += 1;
        }
        let seconds = epoch_start.elapsed().as_secs_f64();
        train_seconds += seconds;
        let result = model::evaluate(&dev, &model, &data.test);
        #[log(metric, step = epoch)]
        let test_loss = result.loss;
        #[log(metric, step = epoch)]
        let test_acc = result.accuracy;
        #[log(histogram, name = "fc1/weight", step = epoch)]
        &model.0 .0.weight;
        #[log(image, name = "predictions", step = epoch)]
        preview::grid(&data.test, &result.predictions, 16, 4).into_image();
        #[log(checkpoint, keep = 3, step = epoch)]
        &model;
        println!(
            "epoch {}/{}: train loss {:.4}, test loss {test_loss:.4}, test accuracy {:.2}% ({seconds:.1} s, {:.0} steps/s)",
            epoch + 1,
            hp.epochs,
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
        hp.epochs,
        data.train.len(),
        data.source.as_str(),
        hp.batch_size,
        steps as f64 / train_seconds,
    );
    let run_dir = run().dir().map(Path::to_path_buf);
    Ok(Report {
        accuracy: test.accuracy,
        run_dir,
    })
}
