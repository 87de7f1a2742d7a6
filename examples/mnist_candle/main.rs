//! Trains the `mnist` example's perceptron with candle instead of dfdx, on the same data (the
//! `mnist` example's modules, shared), and records the same names: `train_loss` every 10
//! steps as a candle tensor, test loss, accuracy and the epoch at the global step, the first
//! layer's weights as a histogram, the `VarMap` as a safetensors checkpoint each epoch, and a
//! summary. Run it with `cargo run --release --example mnist_candle --features candle`
//! (`-- --help` lists the flags); without the MNIST files it trains on the labelled stand-in.

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
use candle_core::Device;
use candle_nn::{Optimizer, VarMap};
use clap::Parser;
use labbook::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::data::Dataset;
use crate::model::Mlp;
use crate::training::{Report, Training};

/// Train an MLP on MNIST with candle and record the run with labbook.
#[derive(Debug, Parser, Serialize, Deserialize)]
#[command(name = "mnist_candle")]
struct Hparams {
    #[command(flatten)]
    #[serde(flatten)]
    training: Training,
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
    let mut hp = labbook::config(Hparams::parse())?;
    hp.training.check()?;
    let data = hp.training.load()?;
    training::prepare_cpu(true);
    train(&hp, &data)?.print();
    Ok(())
}

#[experiment(name = "mnist_candle")]
fn train(#[config] hp: &Hparams, data: &Dataset) -> Result<Report> {
    let training = &hp.training;
    #[log(param)]
    let lr = training.lr;
    #[log(param, name = "data")]
    data.source.as_str();

    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let model = Mlp::new(&varmap, &dev)?;
    model::seed(&varmap, training.seed)?;
    let mut opt = model::optimiser(&varmap, lr)?;
    let mut rng = StdRng::seed_from_u64(training.seed);
    let mut order: Vec<usize> = (0..data.train.len()).collect();
    println!(
        "training a 784-512-128-10 MLP with candle on {} {} images, testing on {}",
        data.train.len(),
        data.source.as_str(),
        data.test.len()
    );
    let batches = order.len().div_ceil(training.batch_size);
    let total_steps = training.epochs * batches;
    let (started, mut steps, mut train_seconds) = (Instant::now(), 0, 0.0);
    let mut test = None;
    for epoch in 0..training.epochs {
        let epoch_start = Instant::now();
        order.shuffle(&mut rng);
        #[progress(name = "train")]
        for batch in order.chunks(training.batch_size) {
            opt.set_learning_rate(model::learning_rate(lr, steps, total_steps));
            // A candle tensor: read back to the host only on the steps it is recorded.
            #[log(metric, every = 10)]
            let train_loss = model::step(&dev, &model, &mut opt, &data.train, batch)?;
            steps += 1;
        }
        let seconds = epoch_start.elapsed().as_secs_f64();
        train_seconds += seconds;
        let result = model::evaluate(&dev, &model, &data.test)?;
        #[log(metric, step = steps)]
        let test_loss = result.loss;
        #[log(metric, step = steps)]
        let test_acc = result.accuracy;
        #[log(metric, name = "epoch", step = steps)]
        epoch;
        #[log(histogram, name = "fc1/weight", step = epoch)]
        model.fc1.weight();
        #[log(image, name = "predictions", step = epoch)]
        preview::grid(&data.test, &result.predictions, 16, 4).into_image();
        #[log(checkpoint, keep = 3, step = epoch)]
        &varmap;
        println!(
            "epoch {}/{}: test loss {test_loss:.4}, test accuracy {:.2}% ({seconds:.1} s, {:.0} steps/s)",
            epoch + 1,
            training.epochs,
            100.0 * test_acc,
            batches as f64 / seconds,
        );
        test = Some(result);
    }
    let test = test.context("no epoch to run: --epochs is at least 1")?;
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
