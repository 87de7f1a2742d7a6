//! burn tensors, modules and optimizers as values of `#[log]` sites (feature `burn`, burn
//! 0.22).
//!
//! A `burn::tensor::Tensor<D, K>` (`Float` or `Int`) on any device is a `metric` (one
//! element), a `histogram` (any shape) or an `image` (`H×W`, `H×W×C`, `C×H×W` with C = 1, 3
//! or 4: floats in `[0, 1]`, clamped, or integers in `0..=255`). Each
//! conversion copies the tensor to the host, and only runs when the site fires: a site that
//! does not fire never touches the device.
//!
//! A burn `Module` wrapped in [`Weights`] is a `checkpoint`, saved in burn's own burnpack
//! format (`.bpk`, what `Module::save_file` writes) and loaded back with
//! `labbook::run().restore(&mut Weights(&mut model))`; a
//! `ModuleOptimizer` and a [`Training`] (model and optimizer in one file) are checkpoints too,
//! so a resumed run continues bit for bit (`checkpoint.rs`). [`LabbookLogger`] records the
//! metrics of burn-train's `SupervisedTraining` in the active run (`train.rs`).

mod checkpoint;
mod train;

use burn::tensor::kind::Basic;
use burn::tensor::{DType, Tensor, TensorData};

use crate::histogram::{Histogram, Summary};
use crate::image::{integer_pixels, Image, Layout, ToImage};
use crate::kinds::Metric;

pub use self::checkpoint::{Burnpack, OptimizerBurnpack, Training, TrainingPack, Weights};
pub use self::train::LabbookLogger;

/// A tensor of one element (a 0-d loss, a `[1]` accuracy). Any other element count, or a
/// tensor that cannot be read, is recorded as NaN.
impl<const D: usize, K: Basic> Metric for Tensor<D, K> {
    fn to_f64(&self) -> f64 {
        if self.shape().num_elements() != 1 {
            return f64::NAN;
        }
        host_values(self).map_or(f64::NAN, |values| values[0])
    }
}

/// Weights, gradients, activations: any shape and dtype. A tensor that cannot be read is an
/// empty histogram.
impl<const D: usize, K: Basic> Histogram for Tensor<D, K> {
    fn summary(&self) -> Summary {
        Summary::of(host_values(self).unwrap_or_default())
    }
}

/// `H×W` (grey), `H×W×C` or `C×H×W` (C = 1, 3 or 4): floats in `[0, 1]` (clamped), or
/// integers in `0..=255`.
impl<const D: usize, K: Basic> ToImage for Tensor<D, K> {
    fn to_image(&self) -> Result<Image, String> {
        let Layout {
            height,
            width,
            channels,
            channels_first,
        } = Layout::of(&self.dims())?;
        let data = self.try_to_data().map_err(|e| e.to_string())?;
        if data.dtype().is_float() {
            let values = floats(data)?;
            return if channels_first {
                Image::from_chw_floats(channels, height, width, &values)
            } else {
                Image::from_unit_floats(width, height, channels, &values)
            };
        }
        let mut pixels = integer_pixels(floats64(data)?)?;
        if channels_first {
            let plane = height as usize * width as usize;
            pixels = (0..plane)
                .flat_map(|p| (0..channels as usize).map(move |c| (c, p)))
                .map(|(c, p)| pixels[c * plane + p])
                .collect();
        }
        Image::new(width, height, channels, pixels)
    }
}

/// Every element of `tensor` as `f64`, in row-major order, copied to the host.
fn host_values<const D: usize, K: Basic>(tensor: &Tensor<D, K>) -> Result<Vec<f64>, String> {
    floats64(tensor.try_to_data().map_err(|e| e.to_string())?)
}

fn floats64(data: TensorData) -> Result<Vec<f64>, String> {
    data.try_cast(DType::F64)
        .and_then(|data| data.try_into_vec::<f64>())
        .map_err(|e| e.to_string())
}

fn floats(data: TensorData) -> Result<Vec<f32>, String> {
    data.try_cast(DType::F32)
        .and_then(|data| data.try_into_vec::<f32>())
        .map_err(|e| e.to_string())
}
