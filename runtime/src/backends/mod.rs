//! The backends that ship with labbook, one module each: [`local`] writes the run directory
//! (the format is [`crate::store`]) and is always on; the others are behind Cargo features
//! of their own.

pub mod console;
#[allow(missing_docs)] // `LocalStore::new`
pub mod local;
#[cfg(feature = "mlflow")]
#[allow(missing_docs)] // errors, settings, sync reports and state: fields and variants
pub mod mlflow;
#[cfg(feature = "prov")]
pub mod prov;
#[cfg(feature = "tensorboard")]
pub mod tensorboard;
#[cfg(feature = "wandb")]
pub mod wandb;
