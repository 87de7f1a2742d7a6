//! The run store and the `RUN` arguments: `experiment/id`, `experiment` (its latest run) or
//! the path of a run directory.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::store::{Run, RunDir};
use crate::store::layout;

/// The directory of all runs.
#[derive(Debug)]
pub(crate) struct Store {
    pub root: PathBuf,
}

/// Experiment names may hold `/`: that deep the store is searched for runs.
const MAX_DEPTH: usize = 8;

impl Store {
    /// Every run in the store (or in `experiment`), by experiment and then id.
    pub fn runs(&self, experiment: Option<&str>) -> Result<Vec<RunDir>> {
        if !self.root.is_dir() {
            bail!(
                "there is no run store at {} (set LABBOOK_DIR or pass --dir)",
                self.root.display()
            );
        }
        let mut runs = Vec::new();
        match experiment {
            Some(name) => {
                let dir = self.root.join(name);
                if !is_safe(name) || !dir.is_dir() {
                    bail!("{}", self.unknown(name));
                }
                collect(&dir, name, 0, &mut runs);
            }
            None => collect(&self.root, "", 0, &mut runs),
        }
        runs.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        Ok(runs.into_iter().map(|(_, _, dir)| dir).collect())
    }

    /// The runs named by `RUN` arguments, loaded, in order.
    pub fn load_all(&self, args: &[String]) -> Result<Vec<Run>> {
        args.iter()
            .map(|arg| Run::load(&self.resolve(arg)?))
            .collect()
    }

    /// The run a `RUN` argument names.
    pub fn resolve(&self, arg: &str) -> Result<RunDir> {
        let as_path = Path::new(arg);
        if is_run(as_path) {
            return Ok(self.named_by_path(as_path));
        }
        if is_safe(arg) {
            let dir = self.root.join(arg);
            if is_run(&dir) {
                return Ok(RunDir {
                    path: dir,
                    label: arg.trim_end_matches('/').to_owned(),
                });
            }
            if dir.is_dir() {
                let mut runs = Vec::new();
                collect(&dir, arg.trim_end_matches('/'), MAX_DEPTH, &mut runs);
                if let Some((_, _, latest)) = runs.into_iter().max_by_key(|r| r.1) {
                    return Ok(latest);
                }
            }
            if let Some((experiment, id)) = arg.rsplit_once('/') {
                if id.parse::<u64>().is_ok() && self.root.join(experiment).is_dir() {
                    bail!(
                        "experiment `{experiment}` has no run {id} in {}",
                        self.root.display()
                    );
                }
            }
        }
        if !self.root.is_dir() && !arg.contains('/') {
            bail!(
                "there is no run `{arg}`: no run store at {} (set LABBOOK_DIR or pass --dir)",
                self.root.display()
            );
        }
        bail!("{}", self.unknown(arg))
    }

    fn unknown(&self, arg: &str) -> String {
        let mut experiments: Vec<String> = Vec::new();
        if let Ok(runs) = self.runs(None) {
            for run in runs {
                let experiment = run.label.rsplit_once('/').map_or("", |(e, _)| e);
                if experiments.last().map(String::as_str) != Some(experiment) {
                    experiments.push(experiment.to_owned());
                }
            }
        }
        let known = if experiments.is_empty() {
            "it has no runs".to_owned()
        } else {
            format!("its experiments are {}", experiments.join(", "))
        };
        format!(
            "there is no run or experiment `{arg}` in {} ({known})",
            self.root.display()
        )
    }

    /// A run named by its path: labelled `experiment/id` from where it is in the store, or
    /// else by the path itself.
    fn named_by_path(&self, path: &Path) -> RunDir {
        let label = fs::canonicalize(path)
            .ok()
            .zip(fs::canonicalize(&self.root).ok())
            .and_then(|(run, root)| {
                let relative = run.strip_prefix(root).ok()?.to_str()?.to_owned();
                Some(relative.replace(std::path::MAIN_SEPARATOR, "/"))
            })
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| path.display().to_string());
        RunDir {
            path: path.to_owned(),
            label,
        }
    }
}

/// A directory with `metadata/info.json`.
fn is_run(dir: &Path) -> bool {
    layout::info_file(dir).is_file()
}

/// A store-relative name that cannot leave the store.
fn is_safe(name: &str) -> bool {
    let path = Path::new(name);
    !name.is_empty()
        && path.is_relative()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// Collects `(experiment, id, run)` under `dir`: numbered folders with a `metadata` folder
/// are runs; other folders (not hidden ones such as `.jobs`) may be experiments.
fn collect(dir: &Path, experiment: &str, depth: usize, runs: &mut Vec<(String, u64, RunDir)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name.starts_with('.') || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        match name.parse::<u64>() {
            Ok(id) if !experiment.is_empty() && path.join(layout::METADATA).is_dir() => {
                runs.push((
                    experiment.to_owned(),
                    id,
                    RunDir {
                        path,
                        label: format!("{experiment}/{id}"),
                    },
                ));
            }
            _ if depth < MAX_DEPTH => {
                let nested = if experiment.is_empty() {
                    name
                } else {
                    format!("{experiment}/{name}")
                };
                collect(&path, &nested, depth + 1, runs);
            }
            _ => {}
        }
    }
}
