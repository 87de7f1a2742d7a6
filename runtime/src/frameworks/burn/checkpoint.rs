//! burn modules and optimizers as checkpoints, in burn's own burnpack format.
//!
//! burn 0.22 has one record format, burnpack (`.bpk`): `Module::into_record` and
//! `ModuleOptimizer::to_record` give a record, `save`/`load` write and read it, and a module
//! record keeps each parameter's `ParamId`, by which the optimizer's state is keyed. So:
//!
//! - a module, wrapped in [`Weights`], saves as `step-<step>.bpk`, the file
//!   `Module::save_file` writes, and `run().restore(&mut Weights(&mut model))` loads it back
//!   in place (burn's `load_record` consumes the module: the restored one replaces it, with
//!   the saved parameter ids);
//! - a `ModuleOptimizer` (Adam's moments, its step count, …) saves as `.bpk` too, for a second
//!   site (`run().restore_named("optimizer", &mut optimizer)`);
//! - a [`Training`] holds both and saves them in one file, `step-<step>.tar`, a tar of
//!   `model.bpk` and `optimizer.bpk` (`tar xf` gives the two files burn loads), so one site
//!   and one `run().restore(&mut training)` resume a run bit for bit.
//!
//! Records go through memory (`into_bytes`/`from_bytes`), so labbook writes the file itself
//! (temporary name, fsync, rename) like every other checkpoint.

use std::fs;
use std::io::Read;
use std::path::Path;

use burn::module::Module;
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::store::ModuleRecord;
use burn::tensor::Bytes;

use crate::checkpoint::{Checkpoint, Restore};

/// The format of burn module and optimizer checkpoints: one burnpack file (`.bpk`).
#[derive(Debug)]
pub enum Burnpack {}

/// The format of optimizer checkpoints: one burnpack file (`.bpk`).
#[derive(Debug)]
pub enum OptimizerBurnpack {}

/// The format of a [`Training`] checkpoint: a tar of `model.bpk` and `optimizer.bpk`.
#[derive(Debug)]
pub enum TrainingPack {}

/// The model and its optimizer, saved and restored together so a resumed run continues
/// exactly where the checkpoint was taken: the same weights, the same optimizer moments and
/// step count.
///
/// ```no_run
/// use burn::nn::{Linear, LinearConfig};
/// use burn::optim::AdamConfig;
/// use burn::tensor::Device;
/// use labbook::burn::Training;
/// use labbook::prelude::*;
///
/// #[experiment(resume = resume)]
/// fn train(resume: Option<u64>) -> labbook::Result<()> {
///     let device = Device::default().autodiff();
///     let model: Linear = LinearConfig::new(4, 1).init(&device);
///     let mut training = Training::new(model, AdamConfig::new().init());
///     let first = run().restore(&mut training)?.map_or(0, |step| step + 1);
///     for step in first..100u64 {
///         // let grads = ...; training.model = training.optimizer.step(1e-3, training.model.clone(), grads);
///         #[log(checkpoint, every = 10, step = step)]
///         &training;
///     }
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct Training<M> {
    /// The model being trained.
    pub model: M,
    /// Its optimizer, with the state it keeps per parameter.
    pub optimizer: ModuleOptimizer,
}

impl<M: std::fmt::Debug> std::fmt::Debug for Training<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Training")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl<M: Module> Training<M> {
    /// The pair, e.g. `Training::new(model, AdamConfig::new().init())`.
    pub fn new(model: M, optimizer: impl Into<ModuleOptimizer>) -> Training<M> {
        Training {
            model,
            optimizer: optimizer.into(),
        }
    }
}

fn text(error: impl std::fmt::Display) -> String {
    error.to_string()
}

fn model_bytes<M: Module>(model: &M) -> Result<Bytes, String> {
    model.clone().into_record().into_bytes().map_err(text)
}

fn load_model<M: Module>(model: &mut M, bytes: Vec<u8>) -> Result<(), String> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(text)?;
    *model = model.clone().try_load_record(record).map_err(|e| {
        format!("the checkpoint does not fit this model ({e}): build the model the run saved")
    })?;
    Ok(())
}

fn load_optimizer(optimizer: &mut ModuleOptimizer, bytes: Vec<u8>) -> Result<(), String> {
    let record = OptimizerRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(text)?;
    *optimizer = optimizer.clone().load_record(record);
    Ok(())
}

/// A burn module as a checkpoint of its own: `#[log(checkpoint, name = "model")]
/// &Weights(&model);` saves it, `run().restore(&mut Weights(&mut model))` loads it back.
///
/// A wrapper, because burn makes numbers, strings, `Vec`s and tuples modules too: a blanket
/// implementation for every module would make `#[log(checkpoint)] &vec` ambiguous between
/// burnpack and JSON.
#[derive(Debug)]
pub struct Weights<M>(pub M);

/// Any burn module, as burn's `Module::save_file` writes it.
impl<M: Module> Checkpoint<Burnpack> for Weights<&M> {
    const EXTENSION: &'static str = "bpk";
    fn save(&self, path: &Path) -> Result<(), String> {
        fs::write(path, &*model_bytes(self.0)?).map_err(text)
    }
}

/// The same, through a `&mut` (the one `restore` takes).
impl<M: Module> Checkpoint<Burnpack> for Weights<&mut M> {
    const EXTENSION: &'static str = "bpk";
    fn save(&self, path: &Path) -> Result<(), String> {
        fs::write(path, &*model_bytes(&*self.0)?).map_err(text)
    }
}

/// Replaces the module with the saved one: every parameter, with the id it was saved with.
/// A checkpoint of another architecture (a missing or extra parameter, another shape) is an
/// error and leaves the module as it was.
impl<M: Module> Restore<Burnpack> for Weights<&mut M> {
    const EXTENSION: &'static str = "bpk";
    fn load(&mut self, path: &Path) -> Result<(), String> {
        load_model(self.0, fs::read(path).map_err(text)?)
    }
}

/// The optimizer's state for every parameter it has stepped.
impl Checkpoint<OptimizerBurnpack> for ModuleOptimizer {
    const EXTENSION: &'static str = "bpk";
    fn save(&self, path: &Path) -> Result<(), String> {
        let bytes = self.to_record().into_bytes().map_err(text)?;
        fs::write(path, &*bytes).map_err(text)
    }
}

/// Replaces the optimizer's state with the saved one (its settings stay as built).
impl Restore<OptimizerBurnpack> for ModuleOptimizer {
    const EXTENSION: &'static str = "bpk";
    fn load(&mut self, path: &Path) -> Result<(), String> {
        load_optimizer(self, fs::read(path).map_err(text)?)
    }
}

const MODEL: &str = "model.bpk";
const OPTIMIZER: &str = "optimizer.bpk";

/// A tar of `model.bpk` and `optimizer.bpk`.
impl<M: Module> Checkpoint<TrainingPack> for Training<M> {
    const EXTENSION: &'static str = "tar";
    fn save(&self, path: &Path) -> Result<(), String> {
        let model = model_bytes(&self.model)?;
        let optimizer = self.optimizer.to_record().into_bytes().map_err(text)?;
        let file = fs::File::create(path).map_err(text)?;
        let mut archive = tar::Builder::new(std::io::BufWriter::new(file));
        for (name, bytes) in [(MODEL, &model), (OPTIMIZER, &optimizer)] {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            archive
                .append_data(&mut header, name, &bytes[..])
                .map_err(text)?;
        }
        let mut writer = archive.into_inner().map_err(text)?;
        std::io::Write::flush(&mut writer).map_err(text)
    }
}

/// Restores the model and the optimizer from one file; a file without both is an error and
/// leaves them as they were.
impl<M: Module> Restore<TrainingPack> for Training<M> {
    const EXTENSION: &'static str = "tar";
    fn load(&mut self, path: &Path) -> Result<(), String> {
        let file = fs::File::open(path).map_err(text)?;
        let mut archive = tar::Archive::new(std::io::BufReader::new(file));
        let (mut model, mut optimizer) = (None, None);
        for entry in archive.entries().map_err(text)? {
            let mut entry = entry.map_err(text)?;
            let name = entry.path().map_err(text)?.to_string_lossy().into_owned();
            let slot = match name.as_str() {
                MODEL => &mut model,
                OPTIMIZER => &mut optimizer,
                _ => continue,
            };
            let mut bytes = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut bytes).map_err(text)?;
            *slot = Some(bytes);
        }
        let (Some(model), Some(optimizer)) = (model, optimizer) else {
            return Err(format!(
                "a training checkpoint holds {MODEL} and {OPTIMIZER}; this one lacks one of them"
            ));
        };
        let mut restored = self.clone();
        load_model(&mut restored.model, model)?;
        load_optimizer(&mut restored.optimizer, optimizer)?;
        *self = restored;
        Ok(())
    }
}
