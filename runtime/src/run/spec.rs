//! What the `#[experiment]` macro hands the runtime: the experiment's options and the
//! program it is compiled into, known at compile time.

use crate::gate::Ranks;

/// What the macro knows about an experiment at compile time.
#[derive(Debug)]
pub struct ExperimentSpec {
    /// The experiment's name.
    pub name: &'static str,
    /// The function's name.
    pub function: &'static str,
    /// The file it is in.
    pub file: &'static str,
    /// The ranks that log by default.
    pub ranks: Ranks,
    /// `system = ...`: how the system metrics are sampled.
    pub system: Sampling,
    /// `tags = [...]`: each `key` or `key=value`.
    pub tags: &'static [&'static str],
    /// `group = "..."`.
    pub group: Option<&'static str>,
    /// The program the experiment is compiled into.
    pub program: Program,
}

/// `#[experiment(system = ...)]`: whether and how often system metrics are sampled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sampling {
    /// Not set: on, at the interval `LABBOOK_SYSTEM_INTERVAL` gives or the default.
    Default,
    /// `system = off`.
    Off,
    /// `system = "5s"`.
    Every(std::time::Duration),
}

/// What the macro knows about the crate it expands in (Cargo's variables at compile time).
#[derive(Clone, Copy, Debug)]
pub struct Program {
    /// The crate's name (`CARGO_PKG_NAME`).
    pub name: Option<&'static str>,
    /// The crate's version (`CARGO_PKG_VERSION`).
    pub version: Option<&'static str>,
    /// The folder of the crate's `Cargo.toml` (`CARGO_MANIFEST_DIR`).
    pub manifest_dir: Option<&'static str>,
    /// Whether it was built without debug assertions (a release profile).
    pub release: bool,
}
