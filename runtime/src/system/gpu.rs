//! GPU metrics through NVIDIA's `libnvidia-ml`, loaded at run time (the `nvml` feature).
//!
//! Only the GPUs the process sees are read: those `CUDA_VISIBLE_DEVICES` names (indices or
//! `GPU-…`/`MIG-…` UUIDs, up to the first it cannot find, as CUDA reads it), or every GPU
//! when it is not set. `gpu_<i>_…` counts them as CUDA does: `CUDA_VISIBLE_DEVICES=2,3`
//! makes GPU 2 `gpu_0`.

use nvml_wrapper::enum_wrappers::device::TemperatureSensor;
use nvml_wrapper::Nvml;

use crate::name::Name;

const MEGABYTE: f64 = 1e6;

/// The metrics of one GPU, named `gpu_<i>_<suffix>`.
const SUFFIXES: [&str; 6] = [
    "utilization_percentage",
    "memory_usage_megabytes",
    "memory_total_megabytes",
    "memory_usage_percentage",
    "temperature_celsius",
    "power_usage_watts",
];

/// The visible GPUs, by NVML index, with their metric names.
pub(super) struct Gpus {
    nvml: Nvml,
    devices: Vec<(u32, [Name; SUFFIXES.len()])>,
}

impl std::fmt::Debug for Gpus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpus")
            .field("devices", &self.devices.len())
            .finish_non_exhaustive()
    }
}

impl Gpus {
    /// The GPUs to read, or `None` (said in one info line) without a driver or a GPU.
    pub fn open() -> Option<Gpus> {
        let nvml = match Nvml::init() {
            Ok(nvml) => nvml,
            Err(e) => {
                tracing::info!("labbook records no GPU metrics: NVML is not available ({e})");
                return None;
            }
        };
        let indices = visible(&nvml);
        if indices.is_empty() {
            tracing::info!("labbook records no GPU metrics: this process sees no NVIDIA GPU");
            return None;
        }
        let devices = indices
            .into_iter()
            .enumerate()
            .filter_map(|(ordinal, index)| {
                let names = SUFFIXES.map(|suffix| Name::new(&format!("gpu_{ordinal}_{suffix}")));
                let names: Vec<Name> = names.into_iter().collect::<Result<_, _>>().ok()?;
                Some((index, names.try_into().ok()?))
            })
            .collect();
        Some(Gpus { nvml, devices })
    }

    /// Reads every visible GPU into `out`; a value the GPU does not report is left out.
    pub fn sample(&self, out: &mut Vec<(Name, f64)>) {
        for (index, names) in &self.devices {
            let Ok(device) = self.nvml.device_by_index(*index) else {
                continue;
            };
            let memory = device.memory_info().ok();
            let values = [
                device.utilization_rates().ok().map(|u| f64::from(u.gpu)),
                memory.as_ref().map(|m| m.used as f64 / MEGABYTE),
                memory.as_ref().map(|m| m.total as f64 / MEGABYTE),
                memory
                    .as_ref()
                    .filter(|m| m.total > 0)
                    .map(|m| m.used as f64 / m.total as f64 * 100.0),
                device
                    .temperature(TemperatureSensor::Gpu)
                    .ok()
                    .map(f64::from),
                device.power_usage().ok().map(|mw| f64::from(mw) / 1000.0),
            ];
            for (name, value) in names.iter().zip(values) {
                if let Some(value) = value {
                    out.push((name.clone(), value));
                }
            }
        }
    }
}

/// The names of the GPUs this process sees, in CUDA's order (`NVIDIA H100 80GB HBM3`); empty
/// without a driver or a GPU. For `info.json`'s machine.
pub(crate) fn names() -> Vec<String> {
    let Ok(nvml) = Nvml::init() else {
        return Vec::new();
    };
    visible(&nvml)
        .into_iter()
        .filter_map(|index| nvml.device_by_index(index).ok()?.name().ok())
        .collect()
}

/// The NVML indices of the GPUs this process sees, in CUDA's order.
fn visible(nvml: &Nvml) -> Vec<u32> {
    let count = nvml.device_count().unwrap_or(0);
    let Ok(list) = std::env::var("CUDA_VISIBLE_DEVICES") else {
        return (0..count).collect();
    };
    let mut indices = Vec::new();
    for gpu in named(&list) {
        let index = match gpu {
            Named::Index(index) => Some(index).filter(|i| *i < count),
            Named::Uuid(uuid) => nvml
                .device_by_uuid(uuid)
                .ok()
                .and_then(|device| device.index().ok()),
        };
        // CUDA ignores every device after one it cannot find.
        let Some(index) = index else { break };
        indices.push(index);
    }
    indices
}

/// A GPU as `CUDA_VISIBLE_DEVICES` names it.
#[derive(Debug, PartialEq, Eq)]
enum Named<'a> {
    Index(u32),
    Uuid(&'a str),
}

/// The GPUs `list` names, in order, up to the first that is neither an index nor a UUID
/// (CUDA ignores the rest; `-1` hides every GPU).
fn named(list: &str) -> Vec<Named<'_>> {
    let mut gpus = Vec::new();
    for token in list.split(',').map(str::trim) {
        let gpu = match token.parse::<u32>() {
            Ok(index) => Named::Index(index),
            Err(_) if token.starts_with("GPU-") || token.starts_with("MIG-") => Named::Uuid(token),
            Err(_) => break,
        };
        gpus.push(gpu);
    }
    gpus
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_visible_devices_names_gpus_by_index_or_uuid_up_to_the_first_it_cannot_read() {
        use Named::{Index, Uuid};
        assert_eq!(named("2,3"), [Index(2), Index(3)]);
        assert_eq!(named(" GPU-8f2e, 1 "), [Uuid("GPU-8f2e"), Index(1)]);
        assert_eq!(named("0,x,1"), [Index(0)]);
        assert_eq!(named("-1"), []);
        assert_eq!(named(""), []);
    }
}
