//! What the launcher of a distributed job tells each process: its rank, the world size, and
//! a key shared by every process of the job (so all ranks find one run directory).

use std::env;

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

/// The key all processes of one job share. `LABBOOK_RUN_ID` wins; then the job ids the
/// launchers set; for a multi-process job without one, the rendezvous address of torchrun.
fn job_key(var: &impl Fn(&str) -> Option<String>, world_size: u32) -> Option<String> {
    if let Some(explicit) = var("LABBOOK_RUN_ID").filter(|v| !v.is_empty()) {
        return Some(explicit);
    }
    if let Some(id) = var("TORCHELASTIC_RUN_ID").filter(|v| !v.is_empty() && v != "none") {
        return Some(format!("torchrun-{id}"));
    }
    // An MPI job id before SLURM's: several `mpirun`s in one allocation share its job id.
    for key in ["PMIX_NAMESPACE", "OMPI_MCA_ess_base_jobid", "PMI_KVSNAME"] {
        if let Some(id) = var(key).filter(|v| !v.is_empty()) {
            return Some(format!("mpi-{id}"));
        }
    }
    if let Some(job) = var("SLURM_JOB_ID") {
        let step = var("SLURM_STEP_ID").unwrap_or_default();
        return Some(format!("slurm-{job}.{step}"));
    }
    if world_size > 1 {
        if let (Some(addr), Some(port)) = (var("MASTER_ADDR"), var("MASTER_PORT")) {
            return Some(format!("rendezvous-{addr}-{port}"));
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
}
