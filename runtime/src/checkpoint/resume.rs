//! Resuming a run: choosing the checkpoint it continues from, rolling this rank's streams
//! back to it, and loading each site's checkpoint with `run().restore`.
//!
//! Each rank resumes from its own checkpoints (see [`point`](super::point) for which one).
//! A checkpoint whose file does not match its sidecar (cut short by a kill, changed since)
//! is skipped with a warning, counted in the run's problems, and the one before it is
//! used. Checkpoints of this rank saved after the chosen one, and temporary files a kill
//! left, are removed; `last.<ext>` is pointed back at the chosen checkpoint and `best.<ext>`
//! at the best of those left. A rank whose
//! checkpoint sites log on rank 0 only continues rank 0's counters, loads rank 0's files
//! and leaves its own streams as they are.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use super::best;
use super::files::{self, Saved};
use super::point::History;
use super::{save, streams, Sidecar, FOLDER};
use crate::error::{Error, Result};
use crate::gate::Counter;
use crate::problems::Section;

/// What a resumed run continues from.
#[derive(Debug)]
pub(crate) struct Resume {
    /// The checkpoint the run continues from: its step, counters and stream lengths.
    pub sidecar: Sidecar,
    dir: PathBuf,
    /// Per site name, the checkpoint `restore` loads and its file extension.
    current: BTreeMap<String, Sidecar>,
    /// Every site that has saved on this rank (or on rank 0), with its file extension.
    sites: BTreeMap<String, String>,
    /// What resuming skipped or could not do, for the run's problems:
    /// `(section, key, records lost, sentence)`.
    pub problems: Vec<(Section, String, u64, String)>,
}

/// A resume point found in one rank's checkpoints.
struct Chosen {
    /// Its position among the rank's checkpoints, oldest first.
    position: usize,
    at: Sidecar,
    current: BTreeMap<String, Sidecar>,
    sites: BTreeMap<String, String>,
}

impl Resume {
    /// Chooses the checkpoint the run in `dir` continues from on `rank` and rolls this
    /// rank's streams back to it.
    pub fn prepare(dir: &Path, rank: u32) -> Result<Resume> {
        let all = files::saved(dir);
        let of = |r: u32| -> Vec<Saved> {
            all.iter()
                .filter(|s| s.sidecar.rank == r)
                .cloned()
                .collect()
        };
        let mine = of(rank);
        let mut problems = Vec::new();
        if mine.is_empty() && rank != 0 {
            let zero = of(0);
            let chosen = choose(dir, &zero, &mut problems)?;
            tracing::warn!(
                "labbook: rank {rank} has no checkpoints of its own (its checkpoint sites log on rank 0 only): it continues from rank 0's checkpoint at step {} and keeps its streams as they are, so points it logged after that checkpoint may appear twice. Give the checkpoint sites `ranks = all` to roll every rank back exactly.",
                chosen.at.step
            );
            return Ok(Resume {
                sidecar: chosen.at,
                dir: dir.to_owned(),
                current: chosen.current,
                sites: chosen.sites,
                problems,
            });
        }
        let chosen = choose(dir, &mine, &mut problems)?;
        let abandoned = &mine[chosen.position + 1..];
        if !abandoned.is_empty() {
            let names: Vec<_> = abandoned.iter().map(|s| s.sidecar.file.as_str()).collect();
            tracing::warn!(
                "labbook resumes from step {} of checkpoint `{}` and removes the {} checkpoint(s) saved after it: {}",
                chosen.at.step,
                chosen.at.name,
                names.len(),
                names.join(", ")
            );
            for saved in abandoned {
                save::remove(dir, saved);
            }
        }
        tidy(dir, rank, &chosen);
        for sentence in streams::roll_back(dir, rank, &chosen.at.streams, chosen.at.time) {
            tracing::warn!("labbook: {sentence}");
            problems.push((Section::Site, "resume".to_owned(), 0, sentence));
        }
        let mut resume = Resume {
            sidecar: chosen.at,
            dir: dir.to_owned(),
            current: chosen.current,
            sites: chosen.sites,
            problems,
        };
        if rank != 0 {
            resume.add_rank_zero_sites(&of(0));
        }
        Ok(resume)
    }

    /// Sites that save on rank 0 only: `restore` on this rank loads rank 0's checkpoint.
    fn add_rank_zero_sites(&mut self, zero: &[Saved]) {
        if History::new(zero)
            .sites()
            .all(|name| self.sites.contains_key(name))
        {
            return;
        }
        if let Ok(chosen) = choose(&self.dir, zero, &mut Vec::new()) {
            for (name, extension) in chosen.sites {
                if let Some(sidecar) = chosen.current.get(&name) {
                    self.current
                        .entry(name.clone())
                        .or_insert_with(|| sidecar.clone());
                }
                self.sites.entry(name).or_insert(extension);
            }
        }
    }

    /// The counters a site continues from, if the checkpoint knows it under the same name.
    pub fn counter(&self, index: u32, name: &str) -> Option<Counter> {
        self.sidecar
            .sites
            .get(&index)
            .filter(|(n, _)| n == name)
            .map(|(_, c)| *c)
    }

    /// The checkpoint file `restore` loads for site `name` (or the only site, or the only
    /// one saving `extension` files) and its step; `None` when that site had not saved yet
    /// at the checkpoint the run continues from.
    pub fn checkpoint(
        &self,
        name: Option<&str>,
        extension: &str,
    ) -> Result<Option<(PathBuf, u64)>> {
        let refuse = |reason: String| Error::Io {
            action: "cannot restore a checkpoint from",
            path: self.dir.join(FOLDER),
            source: std::io::Error::other(reason),
        };
        let listed = || {
            let names: Vec<_> = self.sites.keys().map(|n| format!("`{n}`")).collect();
            names.join(", ")
        };
        let name = match name {
            Some(name) if self.sites.contains_key(name) => name,
            Some(name) => {
                return Err(refuse(format!(
                    "no checkpoint site named `{name}` has saved in this run; the sites that have are {}",
                    listed()
                )))
            }
            None if self.sites.len() == 1 => self.sites.keys().next().map_or("", |n| n),
            None => {
                let mut matching = self.sites.iter().filter(|(_, e)| *e == extension);
                match (matching.next(), matching.next()) {
                    (Some((name, _)), None) => name,
                    _ => {
                        return Err(refuse(format!(
                            "this run has checkpoints of several sites ({}); name the one to load, e.g. `run().restore_named(\"{}\", &mut value)`",
                            listed(),
                            self.sites.keys().next().map_or("", |n| n)
                        )))
                    }
                }
            }
        };
        let Some(sidecar) = self.current.get(name) else {
            return Ok(None);
        };
        let saved_as = &self.sites[name];
        if saved_as != extension {
            return Err(refuse(format!(
                "checkpoint `{name}` was saved as .{saved_as}, and this value loads .{extension} files"
            )));
        }
        Ok(Some((self.dir.join(&sidecar.file), sidecar.step)))
    }
}

/// The newest resume point of one rank's checkpoints whose files all verify.
fn choose(
    dir: &Path,
    saved: &[Saved],
    problems: &mut Vec<(Section, String, u64, String)>,
) -> Result<Chosen> {
    let history = History::new(saved);
    let mut verified: HashMap<PathBuf, std::result::Result<(), String>> = HashMap::new();
    let mut refused = Vec::new();
    for (position, point) in history.points() {
        let at = &saved[position];
        let point = match point {
            Ok(point) => point,
            Err(why) => {
                refused.push(format!("{}: {why}", at.sidecar.file));
                continue;
            }
        };
        let bad = point.current.values().chain([&point.at]).find_map(|s| {
            let result = verified
                .entry(s.path.clone())
                .or_insert_with(|| s.verify(dir));
            result.clone().err().map(|e| (*s, e))
        });
        if let Some((s, error)) = bad {
            tracing::warn!(
                "labbook cannot resume from checkpoint {}: {error}; skipping it",
                at.sidecar.file
            );
            problems.push((
                Section::Site,
                format!("checkpoint {}", s.sidecar.name),
                1,
                error.clone(),
            ));
            refused.push(error);
            continue;
        }
        return Ok(Chosen {
            position,
            at: point.at.sidecar.clone(),
            current: point
                .current
                .iter()
                .map(|(name, s)| (name.clone(), s.sidecar.clone()))
                .collect(),
            sites: history
                .sites()
                .filter_map(|name| {
                    let newest = saved.iter().rev().find(|s| s.sidecar.name == name)?;
                    Some((name.to_owned(), extension(&newest.sidecar)))
                })
                .collect(),
        });
    }
    let folder = dir.join(FOLDER);
    let reason = if saved.is_empty() {
        "the run has no checkpoint to resume from".to_owned()
    } else {
        format!(
            "none of its {} checkpoint(s) can be resumed from ({}); start a new run instead",
            saved.len(),
            refused.join("; ")
        )
    };
    Err(Error::Io {
        action: "cannot resume from",
        path: folder,
        source: std::io::Error::new(std::io::ErrorKind::NotFound, reason),
    })
}

/// The extension of a checkpoint's file: what follows its stem.
fn extension(sidecar: &Sidecar) -> String {
    let name = sidecar.file.rsplit('/').next().unwrap_or_default();
    name.strip_prefix(&files::stem(sidecar.step, sidecar.rank))
        .and_then(|rest| rest.strip_prefix('.'))
        .unwrap_or_default()
        .to_owned()
}

/// Removes the temporary files a kill left in this rank's checkpoint folders, points each
/// site's `last.<ext>` at its checkpoint at the resume point, and its `best.<ext>` at the
/// best checkpoint left (or removes it when none is).
fn tidy(dir: &Path, rank: u32, chosen: &Chosen) {
    files::walk(&dir.join(FOLDER), &mut |path| {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.contains(".tmp.") && files::owner(name) == Some(rank) {
            let _ = fs::remove_file(path);
        }
    });
    for (name, extension) in &chosen.sites {
        let last = files::site_folder(dir, name).join(files::last(rank, extension));
        let result = match chosen.current.get(name) {
            Some(sidecar) => files::link_durably(&dir.join(&sidecar.file), &last),
            None if files::kind(&last).is_some() => fs::remove_file(&last),
            None => Ok(()),
        };
        if let Err(e) = result {
            tracing::warn!("labbook could not update {}: {e}", last.display());
        }
        let folder = files::site_folder(dir, name);
        let best = [
            folder.join(best::file_name(rank, extension)),
            folder.join(best::sidecar_name(rank)),
        ];
        if best.iter().all(|path| files::kind(path).is_none()) {
            continue;
        }
        match save::point_best(dir, rank, name) {
            Ok(true) => {}
            Ok(false) => best.iter().for_each(|path| {
                let _ = fs::remove_file(path);
            }),
            Err(e) => tracing::warn!("labbook could not update {}: {e}", best[0].display()),
        }
    }
}
