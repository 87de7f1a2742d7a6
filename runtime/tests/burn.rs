//! burn tensors as metrics, histograms and images, burn modules and optimizers as
//! checkpoints, and burn-train's metrics through `LabbookLogger`, read back from the run
//! directory with labbook's own reader and burn's own loader (feature `burn`, burn's Flex CPU
//! backend).

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::InMemDataset;
use burn::module::{Initializer, Module};
use burn::nn::loss::{MseLoss, Reduction};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use burn::train::metric::LossMetric;
use burn::train::{InferenceStep, Learner, RegressionOutput, SupervisedTraining, TrainOutput};
use labbook::burn::{LabbookLogger, Training, Weights};
use labbook::prelude::*;
use labbook::store::read::{RunDir, StreamKind};
use support::store;

#[experiment(name = "burn-kinds")]
fn kinds() -> PathBuf {
    let dev = Device::flex();
    #[log(metric)]
    let loss = Tensor::<1>::from_floats([0.25], &dev);
    #[log(metric)]
    let count = Tensor::<1, Int>::from_ints([7], &dev);
    #[log(metric)]
    let two = Tensor::<1>::from_floats([1.0, 2.0], &dev);
    #[log(histogram, name = "fc/weight")]
    Tensor::<1, Int>::arange(0..1000, &dev)
        .float()
        .reshape([10, 100]);
    // H×W floats: 0 → black, 1 → white, values outside [0, 1] clamped.
    #[log(image, name = "grey")]
    Tensor::<2>::from_floats([[0.0, 1.0, 2.0], [0.5, -1.0, 0.0]], &dev);
    // H×W×C integers, as they are.
    #[log(image, name = "hwc")]
    Tensor::<3, Int>::from_ints([[[10, 20, 30], [40, 50, 60]]], &dev);
    // C×H×W floats: a red and a green pixel.
    #[log(image, name = "chw")]
    Tensor::<3>::from_floats([[[1.0, 0.0]], [[0.0, 1.0]], [[0.0, 0.0]]], &dev);
    // C×H×W integers.
    #[log(image, name = "chw-int")]
    Tensor::<3, Int>::from_ints([[[10, 20]], [[30, 40]], [[50, 60]]], &dev);
    // An integer out of 0..=255 is not a pixel: no image, the run goes on.
    #[log(image, name = "too-bright")]
    Tensor::<2, Int>::from_ints([[300]], &dev);
    run().dir().unwrap().to_owned()
}

/// The PNG of image `name` at step 0: width, height, channels, pixels.
fn png(dir: &Path, name: &str) -> (u32, u32, usize, Vec<u8>) {
    let bytes = std::fs::read(dir.join(format!("artifacts/images/{name}/0.png"))).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).unwrap();
    buf.truncate(frame.buffer_size());
    let channels = frame.color_type.samples();
    (frame.width, frame.height, channels, buf)
}

#[test]
fn tensors_are_stored_as_each_kind() {
    store();
    let dir = kinds();
    let run = RunDir::at(&dir);
    let value = |name: &str| {
        let points = run.metric(name).unwrap();
        assert_eq!(points.len(), 1, "{name}");
        points[0].value
    };
    assert_eq!(value("loss"), 0.25);
    assert_eq!(value("count"), 7.0);
    assert!(value("two").is_nan(), "two elements are not one metric");

    let histograms = run
        .stream(StreamKind::Histogram, "fc/weight")
        .histograms()
        .unwrap()
        .points;
    let (step, summary, _) = &histograms[0];
    assert_eq!(
        (*step, summary.num, summary.min, summary.max, summary.sum),
        (0, 1000.0, 0.0, 999.0, 499_500.0)
    );

    assert_eq!(png(&dir, "grey"), (3, 2, 1, vec![0, 255, 255, 128, 0, 0]));
    assert_eq!(png(&dir, "hwc"), (2, 1, 3, vec![10, 20, 30, 40, 50, 60]));
    assert_eq!(png(&dir, "chw"), (2, 1, 3, vec![255, 0, 0, 0, 255, 0]));
    assert_eq!(
        png(&dir, "chw-int"),
        (2, 1, 3, vec![10, 30, 50, 20, 40, 60])
    );
    assert!(!dir.join("artifacts/images/too-bright").exists());
}

/// Every weight of a linear layer, as bits.
fn bits(layer: &Linear) -> Vec<u32> {
    let mut values = layer.weight.val().into_data().try_to_vec::<f32>().unwrap();
    if let Some(bias) = &layer.bias {
        values.extend(bias.val().into_data().try_to_vec::<f32>().unwrap());
    }
    values.into_iter().map(f32::to_bits).collect()
}

/// Saves a freshly initialised layer each epoch; resumed, loads the last one into another
/// freshly initialised layer.
#[experiment(name = "burn-checkpoint", resume = resume)]
fn checkpointed(resume: Option<u64>) -> (Option<u64>, Vec<u32>, PathBuf) {
    let mut layer: Linear = LinearConfig::new(4, 3).init(&Device::flex());
    let restored = run().restore(&mut Weights(&mut layer)).unwrap();
    if resume.is_none() {
        for epoch in 0..2u64 {
            #[log(checkpoint, name = "layer", step = epoch)]
            &Weights(&layer);
        }
    }
    (restored, bits(&layer), run().dir().unwrap().to_owned())
}

#[test]
fn a_module_checkpoint_restores_bit_exact() {
    store();
    let (restored, saved, dir) = checkpointed(None);
    assert_eq!(restored, None);
    // burn's own loader reads the file.
    let file = dir.join("checkpoints/layer/last.bpk");
    let fresh: Linear = LinearConfig::new(4, 3).init(&Device::flex());
    assert_ne!(bits(&fresh), saved, "another initialisation");
    let loaded = fresh.try_load_file(&file).unwrap();
    assert_eq!(bits(&loaded), saved, "burn loads labbook's file");

    let id: u64 = dir.file_name().unwrap().to_str().unwrap().parse().unwrap();
    let (restored, loaded, _) = checkpointed(Some(id));
    assert_eq!(restored, Some(1), "the last epoch's checkpoint");
    assert_eq!(loaded, saved, "every weight restored bit for bit");
}

/// The batch of step `step`: 8 rows of 4 inputs and their targets, a fixed function of the
/// step.
fn batch(step: u64, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let inputs: Vec<f32> = (0..32)
        .map(|i| ((i as f32 + 1.0) * (step as f32 + 1.0) * 0.37).sin())
        .collect();
    let targets: Vec<f32> = inputs
        .chunks(4)
        .map(|row| row[0] - 2.0 * row[1] + 0.5 * row[2] * row[3] + 0.1)
        .collect();
    (
        Tensor::from_data(TensorData::new(inputs, [8, 4]), device),
        Tensor::from_data(TensorData::new(targets, [8, 1]), device),
    )
}

fn device() -> Device {
    Device::flex().autodiff()
}

/// Trains a 4→1 layer (every weight 0.1: other tests draw from burn's generator at the same
/// time) with Adam for `steps` steps, checkpointing model and optimizer
/// after every step; with `resume`, continues the run from its last checkpoint. With
/// `model_only`, restores the model alone (the optimizer starts afresh).
#[experiment(name = "burn-resume", resume = resume)]
fn trained(resume: Option<u64>, steps: u64, model_only: bool) -> (Vec<u32>, u64) {
    let device = device();
    let model: Linear = LinearConfig::new(4, 1)
        .with_initializer(Initializer::Constant { value: 0.1 })
        .init(&device);
    let mut training = Training::new(model, AdamConfig::new().init());
    let first = if model_only {
        let mut saved = training.clone();
        let step = run().restore(&mut saved).unwrap();
        training.model = saved.model;
        step
    } else {
        run().restore(&mut training).unwrap()
    }
    .map_or(0, |step| step + 1);
    for step in first..steps {
        let (inputs, targets) = batch(step, &device);
        let outputs = training.model.forward(inputs);
        let loss = MseLoss::new().forward(outputs, targets, Reduction::Mean);
        let grads = GradientsParams::from_grads(loss.backward(), &training.model);
        training.model = training.optimizer.step(1e-2, training.model.clone(), grads);
        #[log(checkpoint, step = step)]
        &training;
    }
    (bits(&training.model), run().id().unwrap())
}

#[test]
fn a_run_resumed_from_model_and_optimizer_continues_bit_exact() {
    store();
    let (straight, _) = trained(None, 8, false);
    let (interrupted, id) = trained(None, 4, false);
    assert_ne!(interrupted, straight, "4 steps are not 8");
    let (resumed, _) = trained(Some(id), 8, false);
    assert_eq!(
        resumed, straight,
        "8 steps in one run or 4 + 4: the same bits"
    );

    let (_, other) = trained(None, 4, false);
    let (without_optimizer, _) = trained(Some(other), 8, true);
    assert_ne!(
        without_optimizer, straight,
        "the optimizer's state is what makes the resume exact"
    );
}

#[derive(Clone, Debug)]
struct Pair {
    x: [f32; 2],
    y: f32,
}

#[derive(Clone, Debug)]
struct PairBatch {
    inputs: Tensor<2>,
    targets: Tensor<2>,
}

struct PairBatcher;

impl Batcher<Pair, PairBatch> for PairBatcher {
    fn batch(&self, items: Vec<Pair>, device: &Device) -> PairBatch {
        let n = items.len();
        let inputs: Vec<f32> = items.iter().flat_map(|p| p.x).collect();
        let targets: Vec<f32> = items.iter().map(|p| p.y).collect();
        PairBatch {
            inputs: Tensor::from_data(TensorData::new(inputs, [n, 2]), device),
            targets: Tensor::from_data(TensorData::new(targets, [n, 1]), device),
        }
    }
}

#[derive(Module, Debug)]
struct Regression {
    linear: Linear,
}

impl Regression {
    fn output(&self, batch: PairBatch) -> RegressionOutput {
        let output = self.linear.forward(batch.inputs);
        let loss = MseLoss::new().forward(output.clone(), batch.targets.clone(), Reduction::Mean);
        RegressionOutput::new(loss, output, batch.targets)
    }
}

impl burn::train::TrainStep for Regression {
    type Input = PairBatch;
    type Output = RegressionOutput;
    fn step(&self, batch: PairBatch) -> TrainOutput<RegressionOutput> {
        let output = self.output(batch);
        TrainOutput::new(self, output.loss.backward(), output)
    }
}

impl InferenceStep for Regression {
    type Input = PairBatch;
    type Output = RegressionOutput;
    fn step(&self, batch: PairBatch) -> RegressionOutput {
        self.output(batch)
    }
}

fn loader(items: usize) -> Arc<dyn DataLoader<PairBatch>> {
    let pairs = (0..items)
        .map(|i| {
            let x = [i as f32 / 10.0, 1.0 - i as f32 / 20.0];
            Pair {
                x,
                y: 3.0 * x[0] - x[1] + 0.5,
            }
        })
        .collect();
    DataLoaderBuilder::new(PairBatcher)
        .batch_size(4)
        .build(InMemDataset::new(pairs))
}

/// A burn-train `SupervisedTraining` of 2 epochs (2 training batches and 1 validation batch
/// each), its metrics recorded by `LabbookLogger`.
#[experiment(name = "burn-learner")]
fn learner(scratch: &Path) -> PathBuf {
    let device = device();
    let model = Regression {
        linear: LinearConfig::new(2, 1).init(&device),
    };
    let optimizer: ModuleOptimizer = SgdConfig::new().init();
    let learner = Learner::new(model, optimizer, 0.05);
    SupervisedTraining::new(scratch, loader(8), loader(4))
        .num_epochs(2)
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .with_application_logger(None)
        .with_metric_logger(LabbookLogger::new())
        .launch(learner);
    run().dir().unwrap().to_owned()
}

#[test]
fn a_learner_records_every_burn_metric_in_the_run() {
    store();
    let scratch = tempfile::tempdir().unwrap();
    let dir = learner(scratch.path());
    let run = RunDir::at(&dir);
    let points = |name: &str| -> Vec<(u64, f64)> {
        let points = run.metric(name).unwrap();
        points.iter().map(|p| (p.step, p.value)).collect()
    };
    let train = points("train/loss");
    assert_eq!(
        train.iter().map(|p| p.0).collect::<Vec<_>>(),
        [0, 1, 2, 3],
        "2 batches an epoch, 2 epochs"
    );
    let valid = points("valid/loss");
    assert_eq!(valid.iter().map(|p| p.0).collect::<Vec<_>>(), [0, 1]);

    let epochs = points("train/loss_epoch");
    assert_eq!(epochs.iter().map(|p| p.0).collect::<Vec<_>>(), [1, 2]);
    for (epoch, batches) in [(0, &train[0..2]), (1, &train[2..4])] {
        let mean = (batches[0].1 + batches[1].1) / 2.0;
        assert!(
            (epochs[epoch].1 - mean).abs() < 1e-9,
            "epoch {}: {} is the mean of its batches {mean}",
            epoch + 1,
            epochs[epoch].1
        );
    }
    let valid_epochs = points("valid/loss_epoch");
    assert_eq!(
        valid_epochs,
        [(1, valid[0].1), (2, valid[1].1)],
        "one validation batch an epoch: its loss is the epoch's"
    );
}
