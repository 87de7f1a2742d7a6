//! Where a checkpoint's files live, how they reach the disk, and how they are found again.
//!
//! Site `model` on rank 0 saves `checkpoints/model/step-<step>.<ext>` with its sidecar
//! `step-<step>.meta.json`; rank `r > 0` adds `.rank<r>` to the stem, as streams do, so no two
//! ranks ever share a file. Every file is written to a temporary name (`….tmp.<pid>`),
//! fsynced, renamed into place, and the folder fsynced, so a kill or a power cut leaves the
//! old file or the new one, never a torn one under the final name. Nothing here follows a
//! symbolic link: a link inside a run directory is skipped, never read, truncated or removed.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::{Sidecar, FOLDER, SIDECAR};
use crate::store::layout;

/// The folder of one checkpoint site: `checkpoints/<name>` (a checkpoint written before
/// checkpoints had a folder per site has the empty name and lives in `checkpoints/`).
pub(crate) fn site_folder(dir: &Path, name: &str) -> PathBuf {
    let folder = dir.join(FOLDER);
    if name.is_empty() {
        folder
    } else {
        folder.join(name)
    }
}

/// `step-<step>` on rank 0, `step-<step>.rank<r>` on rank `r`.
pub(crate) fn stem(step: u64, rank: u32) -> String {
    format!("step-{step:010}{}", rank_suffix(rank))
}

/// `last.<ext>` on rank 0, `last.rank<r>.<ext>` on rank `r`.
pub(crate) fn last(rank: u32, extension: &str) -> String {
    format!("last{}.{extension}", rank_suffix(rank))
}

fn rank_suffix(rank: u32) -> String {
    if rank == 0 {
        String::new()
    } else {
        format!(".rank{rank}")
    }
}

/// The rank a file of a checkpoint folder belongs to, from its name, when labbook wrote it:
/// `step-…`, `last…`, `best…`, their sidecars and their temporary files.
pub(crate) fn owner(name: &str) -> Option<u32> {
    if !(name.starts_with("step-") || name.starts_with("last.") || name.starts_with("best.")) {
        return None;
    }
    let mut rank = 0;
    for part in name.split('.') {
        if let Some(digits) = part.strip_prefix("rank") {
            rank = digits.parse().ok()?;
        }
    }
    Some(rank)
}

/// Makes `to` a second name of the file `from` (a hard link, or a durable copy on a file
/// system without them), replacing `to` in one step.
pub(crate) fn link_durably(from: &Path, to: &Path) -> io::Result<()> {
    let tmp = layout::temporary(to);
    let _ = fs::remove_file(&tmp);
    if fs::hard_link(from, &tmp).is_err() {
        fs::copy(from, &tmp)?;
        fs::File::open(&tmp)?.sync_all()?;
    }
    if let Err(e) = fs::rename(&tmp, to) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // Renaming a link onto another name of the same file does nothing (POSIX): `to` was
    // already that file, and the temporary name goes.
    if kind(&tmp).is_some() {
        let _ = fs::remove_file(&tmp);
    }
    layout::sync_folder(to.parent().unwrap_or(Path::new(".")))
}

/// The size and CRC-32C of a file, and the file fsynced.
pub(crate) fn checksum(path: &Path) -> io::Result<(u64, u32)> {
    let mut file = fs::File::open(path)?;
    let mut buffer = vec![0; 1 << 20];
    let (mut size, mut crc) = (0u64, 0u32);
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        crc = crc32c::crc32c_append(crc, &buffer[..read]);
        size += read as u64;
    }
    file.sync_all()?;
    Ok((size, crc))
}

/// Whether a directory entry is a plain file or folder (never a link), without following it.
pub(crate) fn kind(path: &Path) -> Option<fs::FileType> {
    let kind = fs::symlink_metadata(path).ok()?.file_type();
    (!kind.is_symlink()).then_some(kind)
}

/// Every plain file under `dir`, skipping links (to files and folders alike).
pub(crate) fn walk(dir: &Path, visit: &mut impl FnMut(&Path)) {
    if !kind(dir).is_some_and(|k| k.is_dir()) {
        return;
    }
    for file in crate::store::read::RunDir::at(dir).files("") {
        visit(file.path());
    }
}

/// One checkpoint as its sidecar describes it.
#[derive(Clone, Debug)]
pub(crate) struct Saved {
    /// The sidecar file.
    pub path: PathBuf,
    pub sidecar: Sidecar,
}

impl Saved {
    /// The checkpoint file the sidecar belongs to.
    pub fn data(&self, dir: &Path) -> PathBuf {
        dir.join(&self.sidecar.file)
    }

    /// Whether the checkpoint file is whole: the size and checksum its sidecar recorded.
    /// A sidecar without a checksum (written before labbook recorded them) only needs
    /// its file to exist.
    pub fn verify(&self, dir: &Path) -> Result<(), String> {
        let data = self.data(dir);
        if !kind(&data).is_some_and(|k| k.is_file()) {
            return Err(format!("{} is missing", self.sidecar.file));
        }
        let Some(expected) = self.sidecar.crc32c else {
            return Ok(());
        };
        match checksum(&data) {
            Ok((size, crc)) if (size, crc) == (self.sidecar.size, expected) => Ok(()),
            Ok((size, _)) => Err(format!(
                "{} does not match its sidecar ({size} bytes, {} recorded, checksum differs): it was cut short or changed after it was saved",
                self.sidecar.file, self.sidecar.size
            )),
            Err(e) => Err(format!("cannot read {}: {e}", self.sidecar.file)),
        }
    }
}

/// Every checkpoint sidecar under `checkpoints/`, without following links. A sidecar counts
/// only where labbook writes it: in its site's folder, under the stem of its step and rank,
/// naming a file beside it.
pub(crate) fn saved(dir: &Path) -> Vec<Saved> {
    let mut found = Vec::new();
    let suffix = format!(".{SIDECAR}");
    walk(&dir.join(FOLDER), &mut |path| {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return;
        };
        let Some(stem_part) = name.strip_suffix(&suffix) else {
            return;
        };
        if !stem_part.starts_with("step-") {
            return;
        }
        let Some(sidecar) = fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Sidecar>(&bytes).ok())
        else {
            return;
        };
        let folder = site_folder(dir, &sidecar.name);
        let stem = stem(sidecar.step, sidecar.rank);
        let expected = folder.join(format!("{stem}{suffix}"));
        let belongs = dir.join(&sidecar.file).parent() == Some(folder.as_path())
            && Path::new(&sidecar.file)
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.strip_prefix(&stem).is_some_and(|e| e.starts_with('.')));
        if expected == path && belongs {
            found.push(Saved {
                path: path.to_owned(),
                sidecar,
            });
        }
    });
    found.sort_by(|a, b| {
        let key = |s: &Saved| (s.sidecar.sequence, s.sidecar.step, s.sidecar.time);
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_rank_and_temporary_files_keep_their_owner() {
        assert_eq!(stem(3, 0), "step-0000000003");
        assert_eq!(stem(3, 2), "step-0000000003.rank2");
        assert_eq!(last(1, "json"), "last.rank1.json");
        let tmp = layout::temporary(Path::new("c/step-0000000003.rank2.meta.json"));
        let name = tmp.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("step-0000000003.tmp."), "{name}");
        assert!(name.ends_with(".rank2.meta.json"), "{name}");
        assert_eq!(owner(name), Some(2));
        assert_eq!(owner("last.tmp.77.json"), Some(0));
        assert_eq!(owner("step-0000000001.meta.json"), Some(0));
        assert_eq!(owner("notes.txt"), None);
    }
}
