//! The pinned Python environments: the verifiers' (`verify/requirements.txt`) and the
//! benchmark peers' (`bench/requirements.txt`).

use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// One virtual environment: what it is for, its pinned requirements, and packages that are
/// installed afterwards without their dependencies.
pub struct Env {
    pub name: &'static str,
    pub requirements: &'static str,
    pub no_deps: &'static [&'static str],
}

pub const VERIFY: Env = Env {
    name: "verify",
    requirements: include_str!("../verify/requirements.txt"),
    no_deps: &[],
};

pub const BENCH: Env = Env {
    name: "bench",
    requirements: include_str!("../bench/requirements.txt"),
    // itwinai 0.4.2 declares ray, hydra and more as dependencies, but its loggers import
    // only typer, omegaconf, requests and pyyaml (pinned in the requirements).
    no_deps: &["itwinai==0.4.2"],
};

/// Creates the environment unless an identical one exists; returns its `python`.
/// `LABBOOK_VENV` chooses the verifiers' directory (default: `~/.cache/labbook/<name>-<hash>`).
pub fn ensure(env: &Env) -> Result<PathBuf, String> {
    let spec = format!("{}\n{}", env.requirements, env.no_deps.join("\n"));
    let dir = match std::env::var_os("LABBOOK_VENV").filter(|_| env.name == VERIFY.name) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME").ok_or("HOME is not set; set LABBOOK_VENV")?;
            PathBuf::from(home).join(".cache/labbook").join(format!(
                "{}-{:016x}",
                env.name,
                fnv(&spec)
            ))
        }
    };
    let python = dir.join("bin/python");
    let marker = dir.join("labbook-requirements.txt");
    if fs::read_to_string(&marker).is_ok_and(|m| m == spec) && python.exists() {
        return Ok(python);
    }
    eprintln!(
        "xtask: creating the {} Python environment in {}",
        env.name,
        dir.display()
    );
    run(Command::new("python3").args(["-m", "venv"]).arg(&dir))?;
    let requirements = dir.join("requirements.txt");
    fs::write(&requirements, env.requirements).map_err(|e| e.to_string())?;
    let pip = || {
        let mut pip = Command::new(&python);
        pip.args(["-m", "pip", "install", "--quiet"]);
        pip
    };
    run(pip().arg("-r").arg(&requirements))?;
    if !env.no_deps.is_empty() {
        run(pip().arg("--no-deps").args(env.no_deps))?;
    }
    fs::write(&marker, spec).map_err(|e| e.to_string())?;
    Ok(python)
}

pub fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("{command:?} failed with {status}"))
}

/// FNV-1a: a stable name for one set of requirements.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
