//! The pinned Python environment of the verifiers.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

const REQUIREMENTS: &str = include_str!("../verify/requirements.txt");

/// Creates the environment unless an identical one exists; returns its `python`.
/// `LABBOOK_VENV` chooses the directory (default: `~/.cache/labbook/venv-<hash>`).
pub fn ensure() -> Result<PathBuf, String> {
    let dir = match std::env::var_os("LABBOOK_VENV") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME").ok_or("HOME is not set; set LABBOOK_VENV")?;
            PathBuf::from(home)
                .join(".cache/labbook")
                .join(format!("venv-{:016x}", fnv(REQUIREMENTS)))
        }
    };
    let python = dir.join("bin/python");
    let marker = dir.join("labbook-requirements.txt");
    if fs::read_to_string(&marker).is_ok_and(|m| m == REQUIREMENTS) && python.exists() {
        return Ok(python);
    }
    eprintln!(
        "xtask: creating the verifiers' Python environment in {}",
        dir.display()
    );
    run(Command::new("python3").args(["-m", "venv"]).arg(&dir))?;
    let requirements = dir.join("requirements.txt");
    fs::write(&requirements, REQUIREMENTS).map_err(|e| e.to_string())?;
    run(Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "-r"])
        .arg(&requirements))?;
    fs::write(&marker, REQUIREMENTS).map_err(|e| e.to_string())?;
    Ok(python)
}

fn run(command: &mut Command) -> Result<(), String> {
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
