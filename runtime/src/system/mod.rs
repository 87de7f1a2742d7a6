//! System metrics: one sampler thread per run (per rank) records the process's and the
//! machine's CPU, memory, disk and network use, and with the `nvml` feature each visible
//! GPU's, as `system/<name>.jsonl` in the run directory.
//!
//! The names are MLflow's own system-metric names where MLflow has one (so its "System
//! metrics" tab shows them): `cpu_utilization_percentage`, `system_memory_usage_megabytes`,
//! `network_receive_megabytes`, `gpu_0_utilization_percentage`, … ([`probe`] lists them).
//! A point's step is whole seconds since the run started; a megabyte is 10⁶ bytes.
//!
//! The sampler never touches the training thread: it hands its points to the run through a
//! [`Sink`] that drops (and counts) a sample rather than wait on a full queue.

#[cfg(feature = "nvml")]
mod gpu;
pub mod probe;
mod sampler;
mod settings;

#[cfg(feature = "nvml")]
pub(crate) use self::gpu::names as gpu_names;
pub use self::probe::Probe;
pub(crate) use self::sampler::{Sample, Sampler};
pub(crate) use self::settings::interval;
pub use self::settings::DEFAULT_INTERVAL;
