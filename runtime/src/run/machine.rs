//! The machine a rank runs on ([`Machine`] in `metadata/info.json`): CPUs, total memory, and
//! with the `nvml` feature the names of the visible GPUs.

use crate::store::meta::Machine;

/// What this machine has, or `None` where the system reports nothing.
pub(crate) fn machine() -> Option<Machine> {
    let mut system = sysinfo::System::new().ok()?;
    system.refresh_memory();
    system.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
    let cpus = system.cpus();
    let cpu = cpus
        .first()
        .map(|c| c.brand().trim().to_owned())
        .filter(|brand| !brand.is_empty());
    Some(Machine {
        cpus: cpus.len(),
        cpus_available: std::thread::available_parallelism().ok().map(usize::from),
        cpu,
        memory_bytes: system.total_memory(),
        gpus: gpus(),
    })
}

/// The visible GPUs' names, through NVML (feature `nvml`).
fn gpus() -> Vec<String> {
    #[cfg(feature = "nvml")]
    return crate::system::gpu_names();
    #[cfg(not(feature = "nvml"))]
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn the_machine_has_cpus_and_memory() {
        let machine = machine().unwrap();
        assert!(machine.cpus >= 1);
        assert!(machine.cpus_available.unwrap() <= machine.cpus.max(1));
        assert!(machine.memory_bytes > 1 << 20, "{machine:?}");
    }
}
