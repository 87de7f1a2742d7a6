//! Training frameworks' types as values of `#[log]` sites, one module per framework, each
//! behind its own feature. A module only implements the kind traits (`Metric`, `Histogram`,
//! `ToImage`, `Checkpoint`, `Restore`) for its framework's types; the macros know nothing of
//! frameworks. dfdx, the first, lives in `labbook::tensor` (feature `dfdx`); burn is also
//! `labbook::burn` (feature `burn`).

#[cfg(feature = "burn")]
pub mod burn;
#[cfg(feature = "candle")]
pub mod candle;
