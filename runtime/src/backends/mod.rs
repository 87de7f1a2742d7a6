//! The backends that ship with labbook, one module each. The local run store lives in
//! [`crate::store`]; the others are behind Cargo features of their own.

pub mod console;
#[cfg(feature = "tensorboard")]
pub mod tensorboard;
