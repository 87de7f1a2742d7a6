//! dfdx tensors and models as values of `#[log]` sites (feature `dfdx`). Each conversion
//! copies the tensor to the host, and only runs when the site fires.

use std::marker::PhantomData;
use std::path::Path;

use dfdx::dtypes::{Dtype, Unit};
use dfdx::nn::{LoadFromSafetensors, SaveToSafetensors};
use dfdx::shapes::{Const, HasShape, Rank0, Shape};
use dfdx::tensor::safetensors::SafeDtype;
use dfdx::tensor::{Storage, Tensor};
use dfdx::tensor_ops::Device;

use crate::checkpoint::{Checkpoint, Restore};
use crate::histogram::{Histogram, Summary};
use crate::image::{Image, Layout, ToImage};
use crate::kinds::Metric;

/// A scalar tensor: a loss, an accuracy.
impl<E: Unit + Into<f64>, D: Storage<E>, T> Metric for Tensor<Rank0, E, D, T> {
    fn to_f64(&self) -> f64 {
        self.as_vec().first().map_or(f64::NAN, |v| (*v).into())
    }
}

/// A one-element tensor.
impl<E: Unit + Into<f64>, D: Storage<E>, T> Metric for Tensor<(Const<1>,), E, D, T> {
    fn to_f64(&self) -> f64 {
        self.as_vec().first().map_or(f64::NAN, |v| (*v).into())
    }
}

/// Weights, gradients, activations: any shape.
impl<S: Shape, E: Unit + Into<f64>, D: Storage<E>, T> Histogram for Tensor<S, E, D, T> {
    fn summary(&self) -> Summary {
        Summary::of(self.as_vec().into_iter().map(Into::into))
    }
}

/// `H×W` (grey), `H×W×C` or `C×H×W` (C = 1, 3 or 4), values in `[0, 1]`.
impl<S: Shape, D: Storage<f32>, T> ToImage for Tensor<S, f32, D, T> {
    fn to_image(&self) -> Result<Image, String> {
        let dims: Vec<usize> = self.shape().concrete().into_iter().collect();
        let layout = Layout::of(&dims)?;
        let values = self.as_vec();
        if layout.channels_first {
            Image::from_chw_floats(layout.channels, layout.height, layout.width, &values)
        } else {
            Image::from_unit_floats(layout.width, layout.height, layout.channels, &values)
        }
    }
}

/// The format of dfdx model checkpoints: safetensors, with element type `E` on device `D`.
#[derive(Debug)]
pub struct Safetensors<E, D>(PhantomData<(E, D)>);

impl<E: Dtype + SafeDtype, D: Device<E>, M: SaveToSafetensors<E, D>> Checkpoint<Safetensors<E, D>>
    for M
{
    const EXTENSION: &'static str = "safetensors";
    fn save(&self, path: &Path) -> Result<(), String> {
        self.save_safetensors(path).map_err(|e| format!("{e:?}"))
    }
}

impl<E: Dtype + SafeDtype, D: Device<E>, M: LoadFromSafetensors<E, D>> Restore<Safetensors<E, D>>
    for M
{
    const EXTENSION: &'static str = "safetensors";
    fn load(&mut self, path: &Path) -> Result<(), String> {
        self.load_safetensors(path).map_err(|e| format!("{e:?}"))
    }
}

#[cfg(test)]
mod tests {
    use dfdx::prelude::*;

    use super::*;

    #[test]
    fn tensors_convert_to_each_kind() {
        let dev: Cpu = Default::default();
        let loss = dev.tensor(0.25f32);
        assert_eq!(loss.to_f64(), 0.25);
        let weights = dev.tensor([[1.0f32, 2.0], [3.0, 4.0]]);
        let summary = weights.summary();
        assert_eq!(
            (summary.num, summary.min, summary.max, summary.sum),
            (4.0, 1.0, 4.0, 10.0)
        );
        let chw = dev.tensor([[[1.0f32, 0.0]], [[0.0, 1.0]], [[0.0, 0.0]]]);
        let image = chw.to_image().unwrap();
        assert_eq!(
            (image.width(), image.height(), image.pixels()),
            (2, 1, &[255, 0, 0, 0, 255, 0][..])
        );
    }

    #[test]
    fn a_model_checkpoint_round_trips() {
        let dev: Cpu = Default::default();
        let model = dev.build_module::<Linear<3, 2>, f32>();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        Checkpoint::save(&model, &path).unwrap();
        let mut other = dev.build_module::<Linear<3, 2>, f32>();
        Restore::load(&mut other, &path).unwrap();
        assert_eq!(model.weight.as_vec(), other.weight.as_vec());
    }
}
