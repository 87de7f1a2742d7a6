//! What keeps the ranks' models identical: rank 0's parameters broadcast at the start, and
//! gradients summed over all ranks before every optimiser step. MPI sends flat `f32`
//! buffers; a dfdx `TensorVisitor` copies the model's trainable tensors (or their
//! gradients) into and out of one, in the same order on every rank.

use dfdx::nn::tensor_collection::{
    RecursiveWalker, TensorCollection, TensorOptions, TensorVisitor, ViewTensorMut,
};
use dfdx::prelude::*;
use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use crate::model::{Grads, Model};

/// The flat buffers of one job, allocated once: every trainable value and one extra slot
/// that carries the loss along with the gradients.
pub struct Collective<'a> {
    world: &'a SimpleCommunicator,
    send: Vec<f32>,
    receive: Vec<f32>,
}

impl<'a> Collective<'a> {
    pub fn new(world: &'a SimpleCommunicator, model: &Model) -> Self {
        let len = model.num_trainable_params() + 1;
        Collective {
            world,
            send: vec![0.0; len],
            receive: vec![0.0; len],
        }
    }

    /// Overwrites every rank's parameters with rank 0's.
    pub fn broadcast_parameters(&mut self, model: &mut Model) {
        copy(model, None, &mut self.send, Direction::OutOfModel(1.0));
        self.world
            .process_at_rank(0)
            .broadcast_into(&mut self.send[..]);
        copy(model, None, &mut self.send, Direction::IntoModel);
    }

    /// Replaces this rank's gradients with the job's: each rank's gradient of its own mean
    /// loss, weighted by `share` (its fraction of the batch, 1 / world size when the batch
    /// divides evenly), summed over the ranks. Returns the batch's mean loss, from this
    /// rank's `loss` the same way.
    pub fn average_gradients(
        &mut self,
        model: &mut Model,
        grads: &mut Grads,
        share: f32,
        loss: f32,
    ) -> f32 {
        copy(
            model,
            Some(grads),
            &mut self.send,
            Direction::OutOfModel(share),
        );
        let last = self.send.len() - 1;
        self.send[last] = loss * share;
        self.world.all_reduce_into(
            &self.send[..],
            &mut self.receive[..],
            SystemOperation::sum(),
        );
        copy(model, Some(grads), &mut self.receive, Direction::IntoModel);
        self.receive[last]
    }
}

/// The sum of every parameter, in `f64`: equal on two ranks only if their models are.
pub fn checksum(model: &mut Model) -> f64 {
    let mut values = vec![0.0; model.num_trainable_params()];
    copy(model, None, &mut values, Direction::OutOfModel(1.0));
    values.iter().map(|&v| f64::from(v)).sum()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Direction {
    /// Into the buffer, times a factor.
    OutOfModel(f32),
    IntoModel,
}

/// Copies the trainable tensors of `model`, or their gradients in `grads`, to or from the
/// front of `buffer`.
fn copy(model: &mut Model, grads: Option<&mut Grads>, buffer: &mut [f32], direction: Direction) {
    let mut visitor = FlatCopy {
        grads,
        buffer,
        at: 0,
        direction,
    };
    let walked = TensorCollection::iter_tensors(&mut RecursiveWalker {
        m: model,
        f: &mut visitor,
    });
    walked.expect("copying between host buffers cannot fail");
}

struct FlatCopy<'a> {
    grads: Option<&'a mut Grads>,
    buffer: &'a mut [f32],
    at: usize,
    direction: Direction,
}

impl TensorVisitor<f32, Cpu> for FlatCopy<'_> {
    type Viewer = ViewTensorMut;
    type Err = CpuError;
    type E2 = f32;
    type D2 = Cpu;

    fn visit<S: Shape>(
        &mut self,
        opts: TensorOptions<S, f32, Cpu>,
        tensor: &mut Tensor<S, f32, Cpu>,
    ) -> Result<Option<Tensor<S, f32, Cpu>>, CpuError> {
        if !opts.do_gradient_update {
            return Ok(None);
        }
        let len = tensor.shape().num_elements();
        let slot = &mut self.buffer[self.at..self.at + len];
        self.at += len;
        match (&mut self.grads, self.direction) {
            (None, Direction::OutOfModel(factor)) => {
                tensor.copy_into(slot);
                if factor != 1.0 {
                    slot.iter_mut().for_each(|value| *value *= factor);
                }
            }
            (None, Direction::IntoModel) => tensor.copy_from(slot),
            (Some(grads), Direction::OutOfModel(factor)) => {
                let grad = grads.get_or_alloc_mut(tensor)?;
                for (to, from) in slot.iter_mut().zip(grad.iter()) {
                    *to = from * factor;
                }
            }
            (Some(grads), Direction::IntoModel) => {
                grads.get_or_alloc_mut(tensor)?.copy_from_slice(slot);
            }
        }
        Ok(None)
    }
}
