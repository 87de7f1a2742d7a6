//! `labbook sweep slurm SPEC`: an `sbatch` script for a job array of one task per trial,
//! `parallel` at a time (`--array=0-(N-1)%K`). Each task runs `labbook sweep task SPEC`,
//! which takes trial `SLURM_ARRAY_TASK_ID` under the sweep's file lock: a task that finds its
//! trial finished does nothing, so resubmitting the script resumes the sweep. The store must
//! be on a file system every node shares.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use labbook::store::read::Store;

use super::spec::Spec;
use super::state::Sweep;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The sweep spec (TOML).
    spec: PathBuf,
    /// Where to write the script [default: sweep.sbatch in the sweep's folder].
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// An extra `#SBATCH` line, like `--gres=gpu:1` or `--time=02:00:00` (repeat for more).
    #[arg(long = "sbatch", value_name = "OPTION")]
    options: Vec<String>,
}

pub(crate) fn write(store: &Store, args: &Args, out: &mut dyn Write) -> Result<()> {
    let spec = Spec::load(&args.spec)?;
    let sweep = Sweep::open(store.path(), &args.spec, &spec)?;
    let here = std::env::current_dir().context("cannot tell the current folder")?;
    let absolute = |path: &Path| here.join(path);
    let labbook = std::env::current_exe().context("cannot tell where the labbook command is")?;
    let script = script(
        &sweep,
        &spec,
        &Paths {
            folder: &here,
            store: &absolute(store.path()),
            spec: &absolute(&args.spec),
            labbook: &labbook,
            logs: &absolute(&sweep.dir),
        },
        &args.options,
    );
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| sweep.dir.join("sweep.sbatch"));
    std::fs::write(&path, script).with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(
        out,
        "wrote {} ({} trials, {} at a time)",
        path.display(),
        spec.trial_count(),
        spec.parallel.get_ref()
    )?;
    writeln!(out, "submit it with: sbatch {}", path.display())?;
    Ok(())
}

/// The absolute paths a task needs, wherever it runs.
struct Paths<'a> {
    folder: &'a Path,
    store: &'a Path,
    spec: &'a Path,
    labbook: &'a Path,
    logs: &'a Path,
}

fn script(sweep: &Sweep, spec: &Spec, paths: &Paths<'_>, options: &[String]) -> String {
    let count = spec.trial_count();
    let mut text = format!(
        "#!/bin/bash\n\
         #SBATCH --job-name={id}\n\
         #SBATCH --array=0-{last}%{parallel}\n\
         #SBATCH --output={logs}/slurm-%A_%a.out\n",
        id = sweep.id,
        last = count.saturating_sub(1),
        parallel = spec.parallel.get_ref(),
        logs = paths.logs.display(),
    );
    for option in options {
        text.push_str(&format!("#SBATCH {option}\n"));
    }
    text.push_str(&format!(
        "# Sweep {id}: each array task runs trial $SLURM_ARRAY_TASK_ID of {spec_path}.\n\
         # Written by `labbook sweep slurm`; see the results with `labbook sweep show {id}`.\n\
         set -euo pipefail\n\
         cd {folder}\n\
         export LABBOOK_DIR={store}\n\
         exec {labbook} sweep task {spec}\n",
        id = sweep.id,
        spec_path = paths.spec.display(),
        folder = quote(paths.folder),
        store = quote(paths.store),
        labbook = quote(paths.labbook),
        spec = quote(paths.spec),
    ));
    text
}

/// A path as one shell word.
fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_an_array_of_one_task_per_trial() {
        let spec = Spec::parse(
            "program = \"p\"\nmetric = \"m\"\ngoal = \"min\"\nparallel = 2\n\
             [parameters]\na = { grid = [1, 2] }\nb = { grid = [3, 4, 5] }\n",
        )
        .unwrap();
        let sweep = Sweep {
            id: "s-1".into(),
            dir: "/runs/.sweeps/s-1".into(),
        };
        let paths = Paths {
            folder: Path::new("/home/me/it's"),
            store: Path::new("/home/me/runs"),
            spec: Path::new("/home/me/s.toml"),
            labbook: Path::new("/bin/labbook"),
            logs: Path::new("/home/me/runs/.sweeps/s-1"),
        };
        let text = script(&sweep, &spec, &paths, &["--gres=gpu:1".into()]);
        assert!(text.contains("#SBATCH --array=0-5%2\n"), "{text}");
        assert!(text.contains("#SBATCH --gres=gpu:1\n"), "{text}");
        assert!(text.contains("cd '/home/me/it'\\''s'\n"), "{text}");
        assert!(
            text.ends_with("exec '/bin/labbook' sweep task '/home/me/s.toml'\n"),
            "{text}"
        );
    }
}
