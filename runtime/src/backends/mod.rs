//! The backends that ship with labbook, one module each: [`local`] writes the run directory
//! (the format is [`crate::store`]) and is always on; the others are behind Cargo features
//! of their own.

pub mod console;
pub mod local;
#[cfg(feature = "mlflow")]
pub mod mlflow;
#[cfg(feature = "prov")]
pub mod prov;
#[cfg(feature = "tensorboard")]
pub mod tensorboard;
#[cfg(feature = "wandb")]
pub mod wandb;
