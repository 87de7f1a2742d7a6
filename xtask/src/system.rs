//! System packages a step needs, installed with `apt-get` only when missing (CI runs as
//! root on Debian).

use std::process::Command;

use crate::python::run;

/// Open MPI, and the libclang rsmpi's `build.rs` generates its bindings with.
pub const MPI: &[&str] = &["libopenmpi-dev", "openmpi-bin", "libclang-dev"];

/// PostgreSQL, the database of the team-scale MLflow tests (a throwaway cluster each run).
pub const POSTGRES: &[&str] = &["postgresql"];

/// Installs those of `packages` that `dpkg` does not list as installed. Where there is no
/// `dpkg`, trusts an `mpirun` on the `PATH` instead.
pub fn ensure(packages: &[&str]) -> Result<(), String> {
    if Command::new("dpkg-query")
        .arg("--version")
        .output()
        .is_err()
    {
        return Command::new("mpirun")
            .arg("--version")
            .output()
            .map(drop)
            .map_err(|_| format!("not a Debian system: install {}", packages.join(", ")));
    }
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| !installed(package))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if !root {
        return Err(format!(
            "missing system packages; run `sudo apt-get install -y {}`",
            missing.join(" ")
        ));
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    run(Command::new("apt-get").args(["update", "-q"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["--show", "--showformat=${db:Status-Status}", package])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout == b"installed")
}
