//! The backends that ship with labbook, one module each. The local run store lives in
//! [`crate::store`]; the others are behind Cargo features of their own.

pub mod console;
#[cfg(feature = "mlflow")]
pub mod mlflow;
#[cfg(feature = "prov")]
pub mod prov;
#[cfg(feature = "tensorboard")]
pub mod tensorboard;
#[cfg(feature = "wandb")]
pub mod wandb;
