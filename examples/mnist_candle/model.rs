//! The network, the tensors it feeds on and one optimiser step, in candle: the same
//! 784 → 512 → 128 → 10 perceptron as the dfdx example, trained with Adam.

use anyhow::Result;
use candle_core::{DType, Device, Tensor, D};
use candle_nn::{linear, loss, Linear, Module, Optimizer, VarBuilder, VarMap};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::data::Split;
use crate::idx::PIXELS;

/// Three linear layers with ReLU between them; their variables live in a `VarMap`.
#[derive(Debug)]
pub struct Mlp {
    pub fc1: Linear,
    fc2: Linear,
    fc3: Linear,
}

impl Mlp {
    pub fn new(varmap: &VarMap, dev: &Device) -> Result<Mlp> {
        let vb = VarBuilder::from_varmap(varmap, DType::F32, dev);
        Ok(Mlp {
            fc1: linear(PIXELS, 512, vb.pp("fc1"))?,
            fc2: linear(512, 128, vb.pp("fc2"))?,
            fc3: linear(128, 10, vb.pp("fc3"))?,
        })
    }

    pub fn forward(&self, images: &Tensor) -> candle_core::Result<Tensor> {
        let hidden = self.fc1.forward(images)?.relu()?;
        let hidden = self.fc2.forward(&hidden)?.relu()?;
        self.fc3.forward(&hidden)
    }
}

/// Draws every weight from `U(-1/√fan_in, 1/√fan_in)` with `seed` and zeroes the biases:
/// candle's CPU random generator cannot be seeded.
pub fn seed(varmap: &VarMap, seed: u64) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let vars = varmap
        .data()
        .lock()
        .expect("no thread panicked holding the variables");
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    for name in names {
        let var = &vars[name];
        let values: Vec<f32> = match *var.dims() {
            [rows, cols] => {
                let bound = 1.0 / (cols as f32).sqrt();
                (0..rows * cols)
                    .map(|_| rng.gen_range(-bound..bound))
                    .collect()
            }
            _ => vec![0.0; var.elem_count()],
        };
        var.set(&Tensor::from_vec(values, var.shape(), var.device())?)?;
    }
    Ok(())
}

/// The images at `indices`, scaled to [0, 1] and normalised: `len × 784`.
pub fn images(dev: &Device, split: &Split, indices: &[usize]) -> Result<Tensor> {
    let data = split.normalised(indices);
    Ok(Tensor::from_vec(data, (indices.len(), PIXELS), dev)?)
}

/// The labels at `indices`.
pub fn labels(dev: &Device, split: &Split, indices: &[usize]) -> Result<Tensor> {
    let labels: Vec<u32> = indices
        .iter()
        .map(|&i| u32::from(split.labels[i]))
        .collect();
    Ok(Tensor::from_vec(labels, indices.len(), dev)?)
}

/// One step on `batch`: the loss (a 0-d tensor, copied to the host only when logged).
pub fn step(
    dev: &Device,
    model: &Mlp,
    opt: &mut candle_nn::AdamW,
    split: &Split,
    batch: &[usize],
) -> Result<Tensor> {
    let logits = model.forward(&images(dev, split, batch)?)?;
    let loss = loss::cross_entropy(&logits, &labels(dev, split, batch)?)?;
    opt.backward_step(&loss)?;
    Ok(loss)
}

/// Adam (AdamW without weight decay) with its default betas, starting at `lr`.
pub fn optimiser(varmap: &VarMap, lr: f64) -> Result<candle_nn::AdamW> {
    let params = candle_nn::ParamsAdamW {
        lr,
        weight_decay: 0.0,
        ..Default::default()
    };
    Ok(candle_nn::AdamW::new(varmap.all_vars(), params)?)
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

pub fn evaluate(dev: &Device, model: &Mlp, split: &Split) -> Result<Evaluation> {
    const BATCH: usize = 1000;
    let mut loss = 0.0;
    let mut predictions = Vec::with_capacity(split.len());
    for start in (0..split.len()).step_by(BATCH) {
        let indices: Vec<usize> = (start..split.len().min(start + BATCH)).collect();
        let logits = model.forward(&images(dev, split, &indices)?)?;
        let batch_loss = loss::cross_entropy(&logits, &labels(dev, split, &indices)?)?;
        loss += batch_loss.to_scalar::<f32>()? * indices.len() as f32;
        let argmax = logits.argmax(D::Minus1)?.to_vec1::<u32>()?;
        predictions.extend(argmax.into_iter().map(|p| p as u8));
    }
    let right = predictions
        .iter()
        .zip(&split.labels)
        .filter(|(p, l)| p == l)
        .count();
    let len = split.len().max(1) as f32;
    Ok(Evaluation {
        loss: loss / len,
        accuracy: right as f32 / len,
        predictions,
    })
}
