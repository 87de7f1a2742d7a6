//! What the launcher of a distributed job tells each process: its rank, the world size, and
//! a key shared by every process of the launch (so all ranks find one run directory per
//! experiment call; see [`store::alloc`](crate::store::alloc) for how a key that is reused by
//! a later launch still gets new runs).

use std::env;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::store::alloc::Claim;

/// The view of one process in its job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Launch {
    pub rank: u32,
    pub world_size: u32,
    /// Identifies the job: equal in all its processes, different between jobs.
    pub job: Option<String>,
    /// Which launcher the values came from.
    pub launcher: &'static str,
}

/// Rank variables, most specific first: torchrun, Open MPI, MPICH/PMI, SLURM. An `mpirun`
/// inside a SLURM allocation passes the allocation's `SLURM_PROCID` to every rank, so MPI's
/// own variables come before SLURM's.
const RANK_VARIABLES: [(&str, &str, &str); 4] = [
    ("torchrun", "RANK", "WORLD_SIZE"),
    ("openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
    ("pmi", "PMI_RANK", "PMI_SIZE"),
    ("slurm", "SLURM_PROCID", "SLURM_NTASKS"),
];

impl Launch {
    /// What this process claims when it allocates a run: `None` outside a job.
    pub fn claim(&self) -> Option<Claim> {
        Some(Claim {
            key: self.job.clone()?,
            rank: self.rank,
            world_size: self.world_size,
            started: process_started(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
        })
    }
}

/// When this process started: from `/proc` on Linux, else when labbook first asked.
pub fn process_started() -> SystemTime {
    static STARTED: OnceLock<SystemTime> = OnceLock::new();
    *STARTED.get_or_init(|| proc_started().unwrap_or_else(SystemTime::now))
}

/// The start of this process from `/proc/self/stat` (clock ticks after boot, at the
/// 100 per second Linux reports to user space) and the boot time in `/proc/stat`.
fn proc_started() -> Option<SystemTime> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name in parentheses; the start time is field 22, the 20th.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let ticks: u64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("btime ")?.trim().parse().ok())?;
    Some(UNIX_EPOCH + Duration::from_secs(boot) + Duration::from_millis(ticks * 10))
}

/// Reads the launcher's environment of this process.
pub fn detect() -> Launch {
    detect_from(|key| env::var(key).ok())
}

pub(crate) fn detect_from(var: impl Fn(&str) -> Option<String>) -> Launch {
    let number = |key: &str| var(key).and_then(|v| v.trim().parse::<u32>().ok());
    let (launcher, rank, world_size) = RANK_VARIABLES
        .iter()
        .find_map(|(launcher, rank, size)| {
            Some((*launcher, number(rank)?, number(size).unwrap_or(1)))
        })
        .unwrap_or(("none", 0, 1));
    Launch {
        rank,
        world_size: world_size.max(rank + 1),
        job: job_key(&var, world_size),
        launcher,
    }
}

/// The key all processes of one launch share. `LABBOOK_RUN_ID` wins; then the job ids the
/// launchers set; for a multi-process job without one, the rendezvous address of torchrun.
/// A restarted torchrun worker group or a requeued SLURM job is a new launch: its restart
/// count is part of the key.
fn job_key(var: &impl Fn(&str) -> Option<String>, world_size: u32) -> Option<String> {
    if let Some(explicit) = var("LABBOOK_RUN_ID").filter(|v| !v.is_empty()) {
        return Some(explicit);
    }
    let restart = |key: &str| match var(key).filter(|v| !matches!(v.trim(), "" | "0")) {
        Some(count) => format!("-restart{}", count.trim()),
        None => String::new(),
    };
    if let Some(id) = var("TORCHELASTIC_RUN_ID").filter(|v| !v.is_empty() && v != "none") {
        let restart = restart("TORCHELASTIC_RESTART_COUNT");
        return Some(format!("torchrun-{id}{restart}"));
    }
    // An MPI job id before SLURM's: several `mpirun`s in one allocation share its job id.
    for key in ["PMIX_NAMESPACE", "OMPI_MCA_ess_base_jobid", "PMI_KVSNAME"] {
        if let Some(id) = var(key).filter(|v| !v.is_empty()) {
            return Some(format!("mpi-{id}"));
        }
    }
    if let Some(job) = var("SLURM_JOB_ID") {
        let step = var("SLURM_STEP_ID").unwrap_or_default();
        let restart = restart("SLURM_RESTART_COUNT");
        return Some(format!("slurm-{job}.{step}{restart}"));
    }
    if world_size > 1 {
        if let (Some(addr), Some(port)) = (var("MASTER_ADDR"), var("MASTER_PORT")) {
            let restart = restart("TORCHELASTIC_RESTART_COUNT");
            return Some(format!("rendezvous-{addr}-{port}{restart}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch(vars: &[(&str, &str)]) -> Launch {
        detect_from(|key| {
            vars.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn a_plain_process_is_rank_zero_of_one() {
        assert_eq!(
            launch(&[]),
            Launch {
                rank: 0,
                world_size: 1,
                job: None,
                launcher: "none"
            }
        );
    }

    #[test]
    fn each_launcher_is_read() {
        let torch = launch(&[
            ("RANK", "2"),
            ("WORLD_SIZE", "4"),
            ("TORCHELASTIC_RUN_ID", "abc"),
        ]);
        assert_eq!(
            (torch.rank, torch.world_size, torch.job.as_deref()),
            (2, 4, Some("torchrun-abc"))
        );
        let slurm = launch(&[
            ("SLURM_PROCID", "1"),
            ("SLURM_NTASKS", "2"),
            ("SLURM_JOB_ID", "77"),
        ]);
        assert_eq!(
            (slurm.rank, slurm.launcher, slurm.job.as_deref()),
            (1, "slurm", Some("slurm-77."))
        );
        let mpi = launch(&[
            ("OMPI_COMM_WORLD_RANK", "3"),
            ("OMPI_COMM_WORLD_SIZE", "4"),
            ("PMIX_NAMESPACE", "prterun-h-1@1"),
        ]);
        assert_eq!((mpi.rank, mpi.world_size, mpi.launcher), (3, 4, "openmpi"));
        assert_eq!(
            launch(&[("PMI_RANK", "1"), ("PMI_SIZE", "2")]).launcher,
            "pmi"
        );
    }

    #[test]
    fn mpirun_inside_a_slurm_allocation_is_read_as_mpi() {
        let l = launch(&[
            ("SLURM_PROCID", "0"),
            ("SLURM_NTASKS", "1"),
            ("SLURM_JOB_ID", "9"),
            ("OMPI_COMM_WORLD_RANK", "2"),
            ("OMPI_COMM_WORLD_SIZE", "4"),
            ("PMIX_NAMESPACE", "prterun-h-7@1"),
        ]);
        assert_eq!((l.rank, l.world_size, l.launcher), (2, 4, "openmpi"));
        assert_eq!(l.job.as_deref(), Some("mpi-prterun-h-7@1"));
    }

    #[test]
    fn the_explicit_run_id_wins() {
        let l = launch(&[
            ("RANK", "0"),
            ("WORLD_SIZE", "2"),
            ("SLURM_JOB_ID", "5"),
            ("LABBOOK_RUN_ID", "mine"),
        ]);
        assert_eq!(l.job.as_deref(), Some("mine"));
    }

    #[test]
    fn torchrun_without_an_id_falls_back_to_the_rendezvous() {
        let l = launch(&[
            ("RANK", "1"),
            ("WORLD_SIZE", "2"),
            ("TORCHELASTIC_RUN_ID", "none"),
            ("MASTER_ADDR", "127.0.0.1"),
            ("MASTER_PORT", "29500"),
        ]);
        assert_eq!(l.job.as_deref(), Some("rendezvous-127.0.0.1-29500"));
    }

    #[test]
    fn a_restarted_worker_group_or_requeued_job_is_a_new_launch() {
        let torch = |count: &'static str| {
            launch(&[
                ("RANK", "0"),
                ("WORLD_SIZE", "2"),
                ("TORCHELASTIC_RUN_ID", "abc"),
                ("TORCHELASTIC_RESTART_COUNT", count),
            ])
            .job
        };
        assert_eq!(torch("0").as_deref(), Some("torchrun-abc"));
        assert_eq!(torch("2").as_deref(), Some("torchrun-abc-restart2"));
        let slurm = launch(&[("SLURM_JOB_ID", "5"), ("SLURM_RESTART_COUNT", "1")]);
        assert_eq!(slurm.job.as_deref(), Some("slurm-5.-restart1"));
    }

    #[test]
    fn the_process_start_is_read_once_and_is_in_the_past() {
        let started = process_started();
        assert_eq!(started, process_started());
        let age = SystemTime::now().duration_since(started).unwrap();
        assert!(age < Duration::from_secs(3600), "{age:?}");
        if cfg!(target_os = "linux") {
            assert!(proc_started().is_some());
        }
    }
}
