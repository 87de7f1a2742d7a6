//! Saving one checkpoint: its file, its sidecar, `last`, `best`, and pruning to `keep`.
//!
//! The order makes every kill safe: the file is written under a temporary name, fsynced
//! and renamed; only then is the sidecar (naming the file, with its size and CRC-32C)
//! written the same way; `last.<ext>` is then made a hard link to the new file (a durable
//! copy where the file system has no hard links), and `best.<ext>` at the site's best when
//! it keeps the best by a metric. A checkpoint exists once its sidecar does; a file without
//! one is never loaded.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use super::best::{self, Keep, Score};
use super::files::{self, Saved};
use super::point::History;
use super::{streams, Checkpoint, Sidecar, SIDECAR};
use crate::error::{Error, Result};
use crate::gate::Site;
use crate::store::layout;

/// One checkpoint to save.
pub(crate) struct Saving<'a> {
    pub dir: &'a Path,
    /// `experiment/id`.
    pub run: String,
    pub rank: u32,
    /// The checkpoint site.
    pub site: &'a Site,
    pub step: u64,
    pub keep: Keep,
    /// Every site of the experiment, for their counters.
    pub sites: &'a [&'a Site],
}

/// Saves `value` as the checkpoint of `saving.site` at `saving.step` and keeps the newest
/// `keep` of that site, or its `keep` best and its newest (and any an older resume point
/// still needs).
pub(crate) fn write<F, T: Checkpoint<F> + ?Sized>(
    saving: &Saving<'_>,
    value: &T,
) -> Result<PathBuf> {
    let (dir, rank, name) = (saving.dir, saving.rank, saving.site.name());
    let folder = files::site_folder(dir, name);
    create(dir, &folder)?;
    let stem = files::stem(saving.step, rank);
    let file = folder.join(format!("{stem}.{}", T::EXTENSION));
    let tmp = layout::temporary(&file);
    let written = value
        .save(&tmp)
        .map_err(|reason| Error::InvalidValue {
            name: format!("checkpoint {name}"),
            reason,
        })
        .and_then(|()| files::checksum(&tmp).map_err(Error::io("cannot write", &tmp)))
        .and_then(|sum| {
            fs::rename(&tmp, &file).map_err(Error::io("cannot write", &file))?;
            Ok(sum)
        });
    let (size, crc) = match written {
        Ok(sum) => sum,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    layout::sync_folder(&folder).map_err(Error::io("cannot write", &folder))?;
    let mine: Vec<Saved> = files::saved(dir)
        .into_iter()
        .filter(|s| s.sidecar.rank == rank)
        .collect();
    let sequence = mine.iter().map(|s| s.sidecar.sequence).max().unwrap_or(0) + 1;
    let previous = mine.iter().rev().find(|s| s.sidecar.name == name);
    let relative = file.strip_prefix(dir).unwrap_or(&file);
    let sidecar = Sidecar {
        run: saving.run.clone(),
        step: saving.step,
        file: relative
            .iter()
            .map(|part| part.to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        time: crate::record::now(),
        sites: saving
            .sites
            .iter()
            .map(|s| (s.index(), (s.name().to_owned(), s.counter())))
            .collect(),
        streams: streams::lengths(dir, rank),
        name: name.to_owned(),
        index: saving.site.index(),
        rank,
        sequence,
        keep: saving.keep.count.max(1),
        size,
        crc32c: Some(crc),
        due_after: Some(due_after(saving, previous)),
        best: saving.keep.best.map(|(metric, mode)| Score {
            metric: metric.to_owned(),
            mode,
            value: best::latest(dir, rank, metric),
        }),
    };
    let mut bytes = serde_json::to_vec_pretty(&sidecar).map_err(|e| Error::InvalidValue {
        name: format!("checkpoint {name}"),
        reason: e.to_string(),
    })?;
    bytes.push(b'\n');
    let path = folder.join(format!("{stem}.{SIDECAR}"));
    layout::write_durably(&path, &bytes).map_err(Error::io("cannot write", &path))?;
    let last = folder.join(files::last(rank, T::EXTENSION));
    files::link_durably(&file, &last).map_err(Error::io("cannot write", &last))?;
    if sidecar.best.is_some() {
        point_best(dir, rank, name).map_err(Error::io("cannot write", &folder))?;
    }
    prune(dir, rank);
    Ok(file)
}

/// The sites further down the function than the checkpoint site that fire on their next
/// run and have run since the site's `previous` checkpoint: those due in this same pass.
fn due_after(saving: &Saving<'_>, previous: Option<&Saved>) -> BTreeMap<u32, String> {
    saving
        .sites
        .iter()
        .filter(|s| s.index() > saving.site.index() && s.counter().countdown == 0)
        .filter(|s| {
            previous.is_none_or(|p| {
                p.sidecar.sites.get(&s.index()).map(|(_, c)| *c) != Some(s.counter())
            })
        })
        .map(|s| (s.index(), s.name().to_owned()))
        .collect()
}

/// Points the `best.<ext>` of site `name` on `rank` at its best checkpoint; `false` when it
/// has none.
pub(crate) fn point_best(dir: &Path, rank: u32, name: &str) -> std::io::Result<bool> {
    let mine: Vec<Saved> = files::saved(dir)
        .into_iter()
        .filter(|s| s.sidecar.rank == rank && s.sidecar.name == name)
        .collect();
    let site: Vec<&Saved> = mine.iter().collect();
    match best::best(&site) {
        Some(saved) => best::point_at(dir, saved).map(|()| true),
        None => Ok(false),
    }
}

/// Creates a site's folder and makes the new folders durable.
fn create(dir: &Path, folder: &Path) -> Result<()> {
    if files::kind(folder).is_some_and(|k| k.is_dir()) {
        return Ok(());
    }
    fs::create_dir_all(folder).map_err(Error::io("cannot create", folder))?;
    let mut parent = folder.parent();
    while let Some(p) = parent {
        layout::sync_folder(p).map_err(Error::io("cannot create", p))?;
        if p == dir {
            break;
        }
        parent = p.parent();
    }
    Ok(())
}

/// Removes each site's checkpoints of `rank` but the newest `keep` (the `keep` of the
/// site's newest checkpoint), or its `keep` best and its newest, except those the newest
/// resume point needs.
fn prune(dir: &Path, rank: u32) {
    let mine: Vec<Saved> = files::saved(dir)
        .into_iter()
        .filter(|s| s.sidecar.rank == rank)
        .collect();
    let history = History::new(&mine);
    let needed: BTreeSet<&Path> = history
        .points()
        .find_map(|(_, point)| point.ok())
        .map(|point| {
            point
                .current
                .values()
                .map(|s| s.path.as_path())
                .chain([point.at.path.as_path()])
                .collect()
        })
        .unwrap_or_default();
    for name in history.sites() {
        let site: Vec<&Saved> = mine.iter().filter(|s| s.sidecar.name == name).collect();
        let keep = site.last().map_or(1, |s| s.sidecar.keep.max(1));
        let kept = best::kept(&site, keep);
        for (position, old) in site.iter().enumerate() {
            if !kept.contains(&position) && !needed.contains(old.path.as_path()) {
                remove(dir, old);
            }
        }
        let _ = layout::sync_folder(&files::site_folder(dir, name));
    }
}

/// Removes a checkpoint: its file first, then its sidecar, so a kill in between leaves a
/// sidecar that no longer verifies rather than a file nothing describes.
pub(crate) fn remove(dir: &Path, saved: &Saved) {
    let data = saved.data(dir);
    if files::kind(&data).is_some_and(|k| k.is_file()) {
        let _ = fs::remove_file(&data);
    }
    let _ = fs::remove_file(&saved.path);
}
