//! One reading of the process and the machine, through `sysinfo` (and NVML for GPUs).
//!
//! | name | what |
//! | --- | --- |
//! | `cpu_utilization_percentage` | the machine's CPU use, % of all cores |
//! | `system_memory_usage_megabytes` | the machine's memory in use |
//! | `system_memory_available_megabytes` | the machine's memory available to programs |
//! | `process_cpu_percentage` | this process's CPU use, % of one core (over 100 on several) |
//! | `process_memory_rss_megabytes` | this process's resident memory |
//! | `process_disk_read_megabytes` | bytes this process read from disk since it started |
//! | `process_disk_write_megabytes` | bytes this process wrote to disk since it started |
//! | `network_receive_megabytes` | bytes the machine received since the run started |
//! | `network_transmit_megabytes` | bytes the machine sent since the run started |
//! | `load_average_1m` | the machine's load average over one minute (not on Windows) |
//!
//! With the `nvml` feature, for each GPU the process sees (`CUDA_VISIBLE_DEVICES`), `i`
//! counted as CUDA counts them: `gpu_<i>_utilization_percentage`,
//! `gpu_<i>_memory_usage_megabytes`, `gpu_<i>_memory_total_megabytes`,
//! `gpu_<i>_memory_usage_percentage`, `gpu_<i>_temperature_celsius`,
//! `gpu_<i>_power_usage_watts`.

use sysinfo::{MemoryRefreshKind, Networks, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::name::Name;

const MEGABYTE: f64 = 1e6;

/// The names of the machine-wide and process metrics, in the order a sample lists them.
pub const NAMES: [&str; 10] = [
    "cpu_utilization_percentage",
    "system_memory_usage_megabytes",
    "system_memory_available_megabytes",
    "process_cpu_percentage",
    "process_memory_rss_megabytes",
    "process_disk_read_megabytes",
    "process_disk_write_megabytes",
    "network_receive_megabytes",
    "network_transmit_megabytes",
    "load_average_1m",
];

/// Reads the system metrics; keeps what it needs between readings (CPU times, the network
/// counters at the start).
#[derive(Debug)]
pub struct Probe {
    system: Option<System>,
    pid: Option<Pid>,
    networks: Option<Networks>,
    /// Bytes received and sent when the probe was made.
    network_start: (u64, u64),
    names: Vec<Name>,
    #[cfg(feature = "nvml")]
    gpus: Option<super::gpu::Gpus>,
}

impl Default for Probe {
    fn default() -> Self {
        Probe::new()
    }
}

impl Probe {
    /// Takes the first reading that CPU use is measured from; says once, as an info line,
    /// what cannot be read on this machine (no GPU, no NVIDIA driver).
    pub fn new() -> Probe {
        let system = System::new().ok();
        let pid = sysinfo::get_current_pid().ok();
        let networks = Networks::new_with_refreshed_list().ok();
        let network_start = networks.as_ref().map_or((0, 0), totals);
        let names = NAMES.iter().map(|n| Name::from_site(n)).collect();
        let mut probe = Probe {
            system,
            pid,
            networks,
            network_start,
            names,
            #[cfg(feature = "nvml")]
            gpus: super::gpu::Gpus::open(),
        };
        if probe.system.is_none() {
            tracing::info!(
                "labbook records no CPU or memory metrics: this system does not report them"
            );
        }
        probe.refresh();
        probe
    }

    fn refresh(&mut self) {
        let Some(system) = &mut self.system else {
            return;
        };
        system.refresh_cpu_usage();
        system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        if let Some(pid) = self.pid {
            let what = ProcessRefreshKind::nothing()
                .with_cpu()
                .with_memory()
                .with_disk_usage();
            system.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), false, what);
        }
        if let Some(networks) = &mut self.networks {
            networks.refresh(false);
        }
    }

    /// Reads every metric once into `out` (cleared first), by name; a metric this machine
    /// cannot read is left out.
    pub fn sample(&mut self, out: &mut Vec<(Name, f64)>) {
        out.clear();
        self.refresh();
        let mut values: [Option<f64>; NAMES.len()] = [None; NAMES.len()];
        if let Some(system) = &self.system {
            values[0] = Some(f64::from(system.global_cpu_usage()));
            values[1] = Some(system.used_memory() as f64 / MEGABYTE);
            values[2] = Some(system.available_memory() as f64 / MEGABYTE);
            if let Some(process) = self.pid.and_then(|pid| system.process(pid)) {
                let disk = process.disk_usage();
                values[3] = Some(f64::from(process.cpu_usage()));
                values[4] = Some(process.memory() as f64 / MEGABYTE);
                values[5] = Some(disk.total_read_bytes as f64 / MEGABYTE);
                values[6] = Some(disk.total_written_bytes as f64 / MEGABYTE);
            }
        }
        if let Some(networks) = &self.networks {
            let (received, sent) = totals(networks);
            values[7] = Some(received.saturating_sub(self.network_start.0) as f64 / MEGABYTE);
            values[8] = Some(sent.saturating_sub(self.network_start.1) as f64 / MEGABYTE);
        }
        values[9] = System::load_average().ok().map(|load| load.one);
        for (name, value) in self.names.iter().zip(values) {
            if let Some(value) = value.filter(|v| v.is_finite()) {
                out.push((name.clone(), value));
            }
        }
        #[cfg(feature = "nvml")]
        if let Some(gpus) = &self.gpus {
            gpus.sample(out);
        }
    }
}

/// Bytes received and sent by every interface since it came up.
fn totals(networks: &Networks) -> (u64, u64) {
    networks.values().fold((0, 0), |(received, sent), data| {
        (
            received + data.total_received(),
            sent + data.total_transmitted(),
        )
    })
}
