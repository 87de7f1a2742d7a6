//! `cargo xtask bench-compare`: labbook and the Python peers on the same workloads, in one
//! run on one machine, each side's stored points counted, written to `bench/RESULTS.md`.
//!
//! `cargo xtask bench-compare overhead` measures the training overhead alone (the MNIST
//! example's builds, no Python) and replaces only that section of `bench/RESULTS.md`.

mod overhead;
mod report;
mod server;
mod team;
mod training;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::python;

/// Repetitions of every measurement; the median is reported.
const REPS: usize = 3;

/// The peers, as `xtask/bench/peers.py` names them.
const PEERS: [&str; 9] = [
    "gate-python-if",
    "gate-itwinai",
    "gate-itwinai-rank",
    "jsonl",
    "tensorboardX",
    "wandb",
    "mlflow-file",
    "mlflow-server",
    "itwinai-console",
];

pub fn compare() -> Result<(), String> {
    let root = workspace_root();
    match std::env::args().nth(2).as_deref() {
        Some("overhead") => {
            let section = report::overhead_section(&overhead::measure(&root)?);
            return write_section(&root, report::OVERHEAD_HEADING, &section);
        }
        Some("team") => return team::measure(&root),
        Some("training") => {
            let section = report::training_section(&training::measure(&root)?);
            return write_section(&root, report::TRAINING_HEADING, &section);
        }
        _ => {}
    }
    let python = python::ensure(&python::BENCH)?;
    let scratch =
        std::env::temp_dir().join(format!("labbook-bench-compare-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let server = server::Mlflow::start(&python, &root, &scratch.join("mlflow"))?;
    let peers_py = root.join("xtask/bench/peers.py");
    let mut rust = Vec::new();
    let mut peers = Vec::new();
    for rep in 0..REPS {
        eprintln!("xtask: repetition {} of {REPS}", rep + 1);
        rust.extend(rust_side(
            &root,
            &scratch.join(format!("rust-{rep}")),
            &server.uri,
        )?);
        for peer in PEERS {
            let out = scratch.join(format!("{peer}-{rep}"));
            let line = capture(
                Command::new(&python)
                    .arg(&peers_py)
                    .arg(peer)
                    .arg(&out)
                    .arg(&server.uri),
            )?;
            peers.push(parse(&line)?);
        }
    }
    let stored = count_rust(&python, &peers_py, &rust, &server.uri)?;
    let overhead = overhead::measure(&root)?;
    drop(server);
    let markdown = report::markdown(&rust, &peers, &stored, &overhead);
    let path = root.join("bench/RESULTS.md");
    std::fs::create_dir_all(root.join("bench")).map_err(|e| e.to_string())?;
    std::fs::write(&path, markdown).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&scratch);
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}

/// Replaces the section of `bench/RESULTS.md` that starts with `heading` (up to the next
/// `## ` heading), or adds it at the end, leaving the other figures as they are.
fn write_section(root: &Path, heading: &str, section: &str) -> Result<(), String> {
    let path = root.join("bench/RESULTS.md");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let (before, after) = match old.find(heading) {
        Some(at) => {
            let rest = &old[at + heading.len()..];
            let end = rest
                .find("\n## ")
                .map_or(old.len(), |i| at + heading.len() + i + 1);
            (&old[..at], &old[end..])
        }
        None => (old.as_str(), ""),
    };
    let mut markdown = before.to_owned();
    if !markdown.is_empty() && !markdown.ends_with("\n\n") {
        markdown.push('\n');
    }
    markdown.push_str(section);
    if !after.is_empty() {
        markdown.push('\n');
        markdown.push_str(after);
    }
    std::fs::create_dir_all(root.join("bench")).map_err(|e| e.to_string())?;
    std::fs::write(&path, markdown).map_err(|e| e.to_string())?;
    eprintln!("xtask: wrote the section {heading:?} of {}", path.display());
    Ok(())
}

/// One run of `benches/compare.rs`: a JSON line per workload.
fn rust_side(root: &Path, dir: &Path, mlflow: &str) -> Result<Vec<Value>, String> {
    let output = capture(
        Command::new(cargo())
            .current_dir(root)
            .args([
                "bench",
                "-q",
                "-p",
                "labbook",
                "--features",
                "tensorboard,mlflow,wandb",
                "--bench",
                "compare",
            ])
            .env("LABBOOK_DIR", dir)
            .env("MLFLOW_TRACKING_URI", mlflow)
            .env(
                "MLFLOW_EXPERIMENT_NAME",
                format!("labbook-{}", dir.display()),
            ),
    )?;
    output
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(parse)
        .collect()
}

/// How many of its points each Rust backend stored, read back by the real readers.
fn count_rust(
    python: &Path,
    peers_py: &Path,
    rust: &[Value],
    mlflow: &str,
) -> Result<Vec<(String, u64)>, String> {
    let mut counts = Vec::new();
    for row in rust {
        let (workload, dir) = (
            row["workload"].as_str().unwrap_or(""),
            PathBuf::from(row["dir"].as_str().unwrap_or("")),
        );
        let stored = match workload {
            "local" | "firing" => std::fs::read_to_string(dir.join("metrics/loss.jsonl"))
                .map_or(0, |s| s.lines().count() as u64),
            "tensorboard" | "wandb" | "mlflow" => {
                let line = capture(
                    Command::new(python)
                        .arg(peers_py)
                        .arg(format!("count-{workload}"))
                        .arg(&dir)
                        .arg(mlflow),
                )?;
                parse(&line)?["stored"].as_u64().unwrap_or(0)
            }
            _ => continue,
        };
        counts.push((workload.to_owned(), stored));
    }
    Ok(counts)
}

pub fn capture(command: &mut Command) -> Result<String, String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn parse(line: &str) -> Result<Value, String> {
    let last = line
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or(line);
    serde_json::from_str(last).map_err(|e| format!("unexpected output {line:?}: {e}"))
}

pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_owned()
}
