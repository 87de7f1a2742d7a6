//! The runtime's integration-test helpers (a private run store per test binary, and readers),
//! shared rather than copied.

#[path = "../../../runtime/tests/support.rs"]
mod shared;

pub use shared::*;
