//! Experiment tracking for Rust training loops, checked at compile time.
//!
//! ```
//! use labbook::prelude::*;
//!
//! #[derive(Serialize)]
//! struct Hp { lr: f64, steps: usize }
//!
//! #[experiment(name = "probe")]
//! fn train(#[config] hp: &Hp) -> anyhow::Result<f64> {
//!     let mut total = 0.0;
//!     for i in 0..hp.steps {
//!         #[log(metric, every = 10)]
//!         let loss = 1.0 / (i as f64 + 1.0);
//!         total += loss;
//!     }
//!     #[log(metric)]
//!     let total_loss = total;
//!     #[log(text, name = "note")]
//!     format!("finished {} steps", hp.steps);
//!     Ok(total)
//! }
//! # std::env::set_var("LABBOOK_DIR", std::env::temp_dir().join("labbook-doc"));
//! # std::env::set_var("LABBOOK_CONSOLE", "off");
//! train(&Hp { lr: 0.1, steps: 100 }).unwrap();
//! ```
//!
//! Each call of `train` is a run in `runs/probe/<id>/`: `metrics/loss.jsonl` holds the
//! points at steps 0, 10, …, 90, `metadata/config.json` the `Hp`, `metadata/info.json` the
//! status, times, command line, host and git commit. See the README for the whole DSL.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod artifact;
pub mod backend;
pub mod backends;
pub mod checkpoint;
pub mod config;
mod diagnostics;
mod early_stop;
mod error;
mod fanout;
pub mod frameworks;
mod gate;
pub mod histogram;
mod image;
pub mod kinds;
#[doc(hidden)]
pub mod launcher;
mod name;
/// The rules for `tags` and `system` shared with the macros.
#[allow(dead_code)]
#[path = "../../macros/src/options.rs"]
mod options;
pub mod problems;
#[doc(hidden)]
pub mod progress;
mod record;
pub mod redact;
mod run;
mod settings;
pub mod store;
#[doc(hidden)]
pub mod system;
#[cfg(feature = "dfdx")]
pub mod tensor;
mod writer;

/// The README's examples compile (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[doc(hidden)]
pub use inventory;
pub use labbook_macros::{experiment, log, progress};

pub use crate::artifact::Artifact;
pub use crate::checkpoint::Mode;
pub use crate::config::{config, Config, ConfigError};
pub use crate::diagnostics::run_log_layer;
pub use crate::early_stop::EarlyStop;
pub use crate::error::{Error, Result};
/// burn tensors, modules and optimizers as `#[log]` values, and a burn-train metric logger
/// (feature `burn`).
#[cfg(feature = "burn")]
pub use crate::frameworks::burn;
pub use crate::gate::Ranks;
pub use crate::image::{Image, ToImage};
pub use crate::name::{check as check_name, Name, MAX_NAME_LEN};
pub use crate::problems::{Problem, Problems};
pub use crate::record::{Record, Value};
pub use crate::run::{run, Entered, Run};
pub use crate::settings::Settings;
pub use crate::store::meta::{Git, Info, RankInfo, RunTags, Status};

/// Everything a training file needs: `use labbook::prelude::*;`.
pub mod prelude {
    pub use crate::run::run;
    pub use crate::{experiment, log, progress, Image, Ranks, Run};
    pub use labbook_macros::{Deserialize, Serialize};
    pub use serde::de::Deserialize;
    pub use serde::ser::Serialize;
}
