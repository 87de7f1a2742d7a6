//! The network, the tensors it feeds on and one optimiser step, in burn: a small convolutional
//! network (two 3×3 convolutions with max pooling, then two linear layers), trained with Adam.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use labbook::burn::Training;

use crate::data::Split;
use crate::idx::SIDE;

/// Channels after each convolution, and the width of the hidden linear layer.
const CHANNELS: [usize; 2] = [16, 32];
const HIDDEN: usize = 128;
/// 28 → conv 26 → pool 13 → conv 11 → pool 5.
const FEATURES: usize = CHANNELS[1] * 5 * 5;

/// conv 1→16 3×3, ReLU, max-pool 2; conv 16→32 3×3, ReLU, max-pool 2; linear 800→128, ReLU;
/// linear 128→10.
#[derive(Module, Debug)]
pub struct Cnn {
    pub conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    fc1: Linear,
    fc2: Linear,
    relu: Relu,
}

impl Cnn {
    pub fn new(device: &Device) -> Cnn {
        Cnn {
            conv1: Conv2dConfig::new([1, CHANNELS[0]], [3, 3]).init(device),
            conv2: Conv2dConfig::new(CHANNELS, [3, 3]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            fc1: LinearConfig::new(FEATURES, HIDDEN).init(device),
            fc2: LinearConfig::new(HIDDEN, 10).init(device),
            relu: Relu::new(),
        }
    }

    /// `batch × 1 × 28 × 28` images to `batch × 10` logits.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self
            .pool
            .forward(self.relu.forward(self.conv1.forward(images)));
        let x = self.pool.forward(self.relu.forward(self.conv2.forward(x)));
        let x = x.flatten::<2>(1, 3);
        self.fc2.forward(self.relu.forward(self.fc1.forward(x)))
    }

    /// How many numbers the optimiser trains.
    pub fn weights(&self) -> usize {
        self.num_params()
    }
}

/// The images at `indices`, scaled to [0, 1] and normalised: `len × 1 × 28 × 28`.
pub fn images(device: &Device, split: &Split, indices: &[usize]) -> Tensor<4> {
    let data = TensorData::new(split.normalised(indices), [indices.len(), 1, SIDE, SIDE]);
    Tensor::from_data(data, device)
}

/// The labels at `indices`.
pub fn labels(device: &Device, split: &Split, indices: &[usize]) -> Tensor<1, Int> {
    let labels: Vec<i64> = indices
        .iter()
        .map(|&i| i64::from(split.labels[i]))
        .collect();
    Tensor::from_data(TensorData::new(labels, [indices.len()]), device)
}

/// A fresh model on `device`, its weights drawn from `seed`, and Adam with its default
/// betas: the pair a checkpoint saves and `--resume` restores.
pub fn training(device: &Device, seed: u64) -> Training<Cnn> {
    device.seed(seed);
    Training::new(Cnn::new(device), AdamConfig::new().init())
}

/// The loss the steps and the evaluation compute.
pub fn loss(device: &Device) -> CrossEntropyLoss {
    CrossEntropyLossConfig::new().init(device)
}

/// One step on `batch` at learning rate `lr`: the loss, a 1-element tensor that is copied to
/// the host only when it is recorded.
pub fn step(
    device: &Device,
    training: &mut Training<Cnn>,
    loss: &CrossEntropyLoss,
    split: &Split,
    batch: &[usize],
    lr: f64,
) -> Tensor<1> {
    let logits = training.model.forward(images(device, split, batch));
    let batch_loss = loss.forward(logits, labels(device, split, batch));
    let grads = GradientsParams::from_grads(batch_loss.backward(), &training.model);
    let model = training.model.clone();
    training.model = training.optimizer.step(lr, model, grads);
    batch_loss.detach()
}

/// The cosine schedule from `peak` at step 0 to zero at `total`.
pub fn learning_rate(peak: f64, step: usize, total: usize) -> f64 {
    let progress = step as f64 / total.max(1) as f64;
    peak * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
}

/// The loss and accuracy on a whole split, and each sample's predicted label.
#[derive(Debug)]
pub struct Evaluation {
    pub loss: f32,
    pub accuracy: f32,
    pub predictions: Vec<u8>,
}

/// Evaluates `model` (a copy outside autodiff, `Module::valid`) on `split`.
pub fn evaluate(device: &Device, model: &Cnn, split: &Split) -> Evaluation {
    const BATCH: usize = 1000;
    let model = model.valid();
    let device = device.clone().without_autodiff();
    let loss_fn = loss(&device);
    let mut loss = 0.0;
    let mut predictions = Vec::with_capacity(split.len());
    for start in (0..split.len()).step_by(BATCH) {
        let indices: Vec<usize> = (start..split.len().min(start + BATCH)).collect();
        let logits = model.forward(images(&device, split, &indices));
        let batch_loss = loss_fn.forward(logits.clone(), labels(&device, split, &indices));
        loss += batch_loss.into_scalar::<f32>() * indices.len() as f32;
        let argmax = logits.argmax(1).into_data_as::<i64>();
        let argmax = argmax.as_slice::<i64>().expect("argmax yields integers");
        predictions.extend(argmax.iter().map(|&p| p as u8));
    }
    let right = predictions
        .iter()
        .zip(&split.labels)
        .filter(|(p, l)| p == l)
        .count();
    let len = split.len().max(1) as f32;
    Evaluation {
        loss: loss / len,
        accuracy: right as f32 / len,
        predictions,
    }
}
