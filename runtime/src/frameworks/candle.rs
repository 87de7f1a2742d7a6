//! candle tensors and variables as values of `#[log]` sites (feature `candle`): a
//! `candle_core::Tensor` is a `metric` (one element), a `histogram` (any shape) or an `image`
//! (`H×W`, `H×W×C`, `C×H×W`); a `candle_nn::VarMap` is a `checkpoint`, saved as safetensors
//! and loaded back with `labbook::run().restore(&mut varmap)`. Each conversion copies the
//! tensor to the host, and only runs when the site fires.

use std::path::Path;

use candle_core::{DType, Tensor};
use candle_nn::VarMap;

use crate::checkpoint::{Checkpoint, Restore};
use crate::histogram::{Histogram, Summary};
use crate::image::{integer_pixels, Image, Layout, ToImage};
use crate::kinds::Metric;

/// A tensor of one element (a 0-d loss, a `[1]` accuracy). Any other element count, or a
/// tensor that cannot be read, is recorded as NaN.
impl Metric for Tensor {
    fn to_f64(&self) -> f64 {
        if self.elem_count() != 1 {
            return f64::NAN;
        }
        host_values(self).map_or(f64::NAN, |values| values[0])
    }
}

/// Weights, gradients, activations: any shape and dtype. A tensor that cannot be read is an
/// empty histogram.
impl Histogram for Tensor {
    fn summary(&self) -> Summary {
        Summary::of(host_values(self).unwrap_or_default())
    }
}

/// `H×W` (grey), `H×W×C` or `C×H×W` (C = 1, 3 or 4): floats in `[0, 1]` (clamped), or
/// integers in `0..=255`.
impl ToImage for Tensor {
    fn to_image(&self) -> Result<Image, String> {
        let Layout {
            height,
            width,
            channels,
            channels_first,
        } = Layout::of(self.dims())?;
        let hwc = if channels_first {
            self.permute((1, 2, 0)).map_err(text)?
        } else {
            self.clone()
        };
        if self.dtype().is_float() {
            let values = hwc
                .flatten_all()
                .and_then(|t| t.to_dtype(DType::F32))
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(text)?;
            return Image::from_unit_floats(width, height, channels, &values);
        }
        Image::new(width, height, channels, integer_pixels(host_values(&hwc)?)?)
    }
}

/// Every element of `tensor` as `f64`, in row-major order, copied to the host.
fn host_values(tensor: &Tensor) -> Result<Vec<f64>, String> {
    tensor
        .flatten_all()
        .and_then(|t| t.to_dtype(DType::F64))
        .and_then(|t| t.to_vec1::<f64>())
        .map_err(text)
}

fn text(error: candle_core::Error) -> String {
    error.to_string()
}

/// The format of candle checkpoints: a `VarMap`'s variables by name, as safetensors.
#[derive(Debug)]
pub enum Safetensors {}

impl Checkpoint<Safetensors> for VarMap {
    const EXTENSION: &'static str = "safetensors";
    fn save(&self, path: &Path) -> Result<(), String> {
        VarMap::save(self, path).map_err(text)
    }
}

/// Loads every variable of the `VarMap` from the file, by name, in place: the model built on
/// it sees the restored weights. A variable missing from the file is an error.
impl Restore<Safetensors> for VarMap {
    const EXTENSION: &'static str = "safetensors";
    fn load(&mut self, path: &Path) -> Result<(), String> {
        VarMap::load(self, path).map_err(text)
    }
}
