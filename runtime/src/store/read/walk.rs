//! Finding the runs under a folder of the store: numbered folders with a `metadata` folder
//! are runs, other folders may be experiments. An experiment may hold 100,000 runs, so the
//! folders are asked whether they hold `metadata` on every core, each by its name in the
//! experiment's folder held open.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::folder::{Folder, FoundIn};
use super::run::RunDir;
use super::MAX_DEPTH;
use crate::store::layout;

/// Below this many numbered folders one thread asks them all.
const PARALLEL_FROM: usize = 1024;

/// Collects `(experiment, id, run)` under `dir`: numbered folders with a `metadata` folder
/// are runs; other folders (not hidden ones such as `.jobs`) may be experiments. Links are
/// not followed.
pub(super) fn collect(
    dir: &Path,
    experiment: &str,
    depth: usize,
    runs: &mut Vec<(String, u64, RunDir)>,
) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut numbered: Vec<(u64, String, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name.starts_with('.') || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        match name.parse::<u64>() {
            Ok(id) if !experiment.is_empty() => numbered.push((id, name, path)),
            _ if depth < MAX_DEPTH => collect(&path, &nested(experiment, name), depth + 1, runs),
            _ => {}
        }
    }
    let parent = Folder::open(dir).ok().map(Arc::new);
    let are_runs = have_metadata(parent.as_deref(), &numbered);
    for ((id, name, path), is_run) in numbered.into_iter().zip(are_runs) {
        if is_run {
            let label = format!("{experiment}/{id}");
            let run = match &parent {
                Some(folder) => {
                    let folder = Arc::clone(folder);
                    RunDir::found(path, label, FoundIn { folder, name })
                }
                None => RunDir::new(path, label),
            };
            runs.push((experiment.to_owned(), id, run));
        } else if depth < MAX_DEPTH {
            collect(&path, &nested(experiment, name), depth + 1, runs);
        }
    }
}

/// The experiment that folder `name` of `experiment` is.
fn nested(experiment: &str, name: String) -> String {
    if experiment.is_empty() {
        name
    } else {
        format!("{experiment}/{name}")
    }
}

/// Whether each folder (in `parent`, the folder their paths are in) holds a `metadata`
/// folder, in order.
fn have_metadata(parent: Option<&Folder>, folders: &[(u64, String, PathBuf)]) -> Vec<bool> {
    let ask = |part: &[(u64, String, PathBuf)]| -> Vec<bool> {
        part.iter()
            .map(|(_, name, path)| match parent {
                Some(parent) => parent.is_dir(format!("{name}/{}", layout::METADATA)),
                None => path.join(layout::METADATA).is_dir(),
            })
            .collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads == 1 || folders.len() < PARALLEL_FROM {
        return ask(folders);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = folders
            .chunks(folders.len().div_ceil(threads))
            .map(|part| scope.spawn(move || ask(part)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}
