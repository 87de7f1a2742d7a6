//! The part of `labbook show` that says how to rebuild a run: how the program was built, the
//! machine, the seed, and the commands that give back the exact code
//! (`git checkout <commit> && git apply <run>/code/diff.patch`).

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use labbook::store::meta::{Git, Info};

use super::table;

/// At most this many untracked files are named.
const MAX_UNTRACKED: usize = 10;

/// `build`, `machine` and `seed` lines, in `labbook show`'s key–value layout.
pub(crate) fn facts(info: &Info) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    if let Some(build) = &info.build {
        let mut parts = vec![
            build.rustc.clone(),
            build.target.clone(),
            build.profile.clone(),
        ];
        if let Some(program) = &build.program {
            parts.push(format!("{} {}", program.name, program.version));
        }
        if let Some(sha) = &build.cargo_lock_sha256 {
            parts.push(format!("Cargo.lock sha256 {sha}"));
        }
        lines.push(("build", parts.join(", ")));
    }
    if let Some(machine) = &info.machine {
        let mut cpus = format!("{} CPUs", machine.cpus);
        if let Some(available) = machine.cpus_available.filter(|&a| a != machine.cpus) {
            cpus.push_str(&format!(" ({available} available)"));
        }
        let mut parts = vec![cpus];
        parts.extend(machine.cpu.clone());
        parts.push(format!("{} memory", table::size(machine.memory_bytes)));
        if !machine.gpus.is_empty() {
            parts.push(format!("GPUs {}", machine.gpus.join(", ")));
        }
        lines.push(("machine", parts.join(", ")));
    }
    if let Some(seed) = &info.seed {
        lines.push(("seed", super::store::text(seed)));
    }
    lines
}

/// The commands that give back the code the run started from, when it ran in a git tree.
pub(crate) fn restore(info: &Info, run_dir: &Path, out: &mut dyn Write) -> Result<()> {
    let Some(git) = &info.git else {
        return Ok(());
    };
    writeln!(out, "\nrestore the code")?;
    let checkout = format!("{}git checkout {}", change_dir(git), git.commit);
    match &git.diff {
        Some(diff) => {
            let patch = run_dir.join(&diff.file);
            let patch = std::fs::canonicalize(&patch).unwrap_or(patch);
            writeln!(out, "  {checkout} && git apply {}", patch.display())?;
            for left in &diff.left_out {
                let size = left
                    .bytes
                    .map_or(String::new(), |b| format!(", {}", table::size(b)));
                writeln!(
                    out,
                    "  not in the patch: {} ({}{size})",
                    left.path,
                    left.reason.as_str()
                )?;
            }
        }
        None if git.dirty => {
            writeln!(out, "  {checkout}")?;
            writeln!(out, "  its uncommitted changes were not saved with the run")?;
        }
        None => writeln!(out, "  {checkout}")?,
    }
    if !git.untracked.is_empty() {
        let shown = git.untracked.len().min(MAX_UNTRACKED);
        let more = git.untracked.len() - shown;
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        writeln!(
            out,
            "  untracked, not saved: {}{more}",
            git.untracked[..shown].join(", ")
        )?;
    }
    Ok(())
}

/// `cd <work tree> && `, when the run recorded where the work tree was.
fn change_dir(git: &Git) -> String {
    git.work_tree
        .as_deref()
        .map_or(String::new(), |top| format!("cd {top} && "))
}
