//! `#[log(artifact)]`: a file or directory copied (never moved) into
//! `artifacts/<name>/<file name>` when the site fires.
//!
//! A copy never blocks and never loops. Only regular files and directories are read: a
//! FIFO, socket or device is refused before it is opened (opening a FIFO waits for a
//! writer). Inside a directory, a symlink is recreated as the same link and never followed;
//! one whose target is outside the logged directory is recorded, since its target is not in
//! the run. The runs root (`LABBOOK_DIR`) and the folders holding this run are never copied,
//! so logging `.` does not copy the run into itself. Each entry left out is reported to the
//! caller, which records it in the run's problems.

use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};
use crate::store::layout;

/// Values a `#[log(artifact)]` site records: paths.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be logged as an `artifact`",
    label = "not a path",
    note = "an `artifact` takes a path to a file or directory (`&str`, `String`, `Path`, `PathBuf`)"
)]
pub trait Artifact {
    /// The file or directory to copy into the run's `artifacts/`.
    fn path(&self) -> &Path;
}

impl Artifact for Path {
    fn path(&self) -> &Path {
        self
    }
}

impl Artifact for PathBuf {
    fn path(&self) -> &Path {
        self
    }
}

impl Artifact for str {
    fn path(&self) -> &Path {
        Path::new(self)
    }
}

impl Artifact for String {
    fn path(&self) -> &Path {
        Path::new(self)
    }
}

impl<T: Artifact + ?Sized> Artifact for &T {
    fn path(&self) -> &Path {
        (**self).path()
    }
}

/// What [`copy`] did: where the copy is, and one sentence for each entry it left out.
#[derive(Debug)]
pub(crate) struct Copied {
    pub target: PathBuf,
    pub refused: Vec<String>,
}

/// Copies `source` into the run and returns where it now is, with what was left out.
pub(crate) fn copy(dir: &Path, name: &str, rank: u32, source: &Path) -> Result<Copied> {
    let refuse = |reason: String| Error::InvalidValue {
        name: name.to_owned(),
        reason,
    };
    let folder = if rank == 0 {
        name.to_owned()
    } else {
        format!("{name}.rank{rank}")
    };
    let file_name = source
        .file_name()
        .ok_or_else(|| refuse(format!("{} names no file or directory", source.display())))?;
    let target = dir.join(layout::ARTIFACTS).join(folder).join(file_name);
    // The path the user named may be a link; what it points to must be a file or directory.
    let kind = fs::metadata(source)
        .map_err(|e| {
            refuse(format!(
                "cannot read {}: {e}; nothing was copied and the run goes on",
                source.display()
            ))
        })?
        .file_type();
    if kind.is_file() {
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(Error::io("cannot create", parent))?;
        }
        fs::copy(source, &target).map_err(Error::io("cannot copy into", &target))?;
        return Ok(Copied {
            target,
            refused: Vec::new(),
        });
    }
    if !kind.is_dir() {
        return Err(refuse(format!(
            "{} is {}; an artifact is a regular file or a directory, so nothing was copied \
             (log the file that feeds it instead)",
            source.display(),
            special(&kind)
        )));
    }
    let guard = Guard::new(dir);
    let canonical =
        fs::canonicalize(source).map_err(Error::io("cannot resolve", source.to_owned()))?;
    if let Some(why) = guard.refuses(&canonical) {
        return Err(refuse(format!(
            "{} {why}; copying it would copy the run into itself, so nothing was copied \
             (log a folder that does not hold the runs root)",
            source.display()
        )));
    }
    let mut walk = Walk {
        guard,
        refused: Vec::new(),
    };
    walk.dir(source, &canonical, &target, Path::new(file_name))?;
    Ok(Copied {
        target,
        refused: walk.refused,
    })
}

/// The directories a copy must never enter: the runs root and those holding this run.
struct Guard {
    root: Option<PathBuf>,
    run: Option<PathBuf>,
}

impl Guard {
    fn new(run: &Path) -> Guard {
        Guard {
            root: fs::canonicalize(layout::root()).ok(),
            run: fs::canonicalize(run).ok(),
        }
    }

    /// Why the directory at canonical path `dir` must not be copied, if it must not.
    fn refuses(&self, dir: &Path) -> Option<&'static str> {
        if self.root.as_deref() == Some(dir) {
            return Some("is the runs root (LABBOOK_DIR)");
        }
        if self.run.as_deref() == Some(dir) {
            return Some("is this run's own directory");
        }
        let inside_root = self
            .root
            .as_deref()
            .is_some_and(|root| dir.starts_with(root));
        let holds_run = self.run.as_deref().is_some_and(|run| run.starts_with(dir));
        (inside_root && holds_run).then_some("holds this run's own directory")
    }
}

/// A directory copy in progress.
struct Walk {
    guard: Guard,
    refused: Vec<String>,
}

impl Walk {
    /// Copies directory `from` (at canonical path `canonical`) to `to`; `shown` is its path
    /// as the artifact names it (`data/train`). Entries that cannot be copied are recorded
    /// and skipped; only failing to create `to` itself is an error.
    fn dir(&mut self, from: &Path, canonical: &Path, to: &Path, shown: &Path) -> Result<()> {
        fs::create_dir_all(to).map_err(Error::io("cannot create", to))?;
        let entries = match fs::read_dir(from) {
            Ok(entries) => entries,
            Err(e) => {
                self.left_out(shown, format_args!("cannot be listed: {e}"));
                return Ok(());
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    self.left_out(shown, format_args!("cannot be listed: {e}"));
                    continue;
                }
            };
            let name = entry.file_name();
            let (path, dest, shown) = (entry.path(), to.join(&name), shown.join(&name));
            // The entry itself, never what a link points to.
            let kind = match entry.file_type() {
                Ok(kind) => kind,
                Err(e) => {
                    self.left_out(&shown, format_args!("cannot be read: {e}"));
                    continue;
                }
            };
            if kind.is_symlink() {
                self.link(&path, &dest, &shown);
            } else if kind.is_dir() {
                let canonical = canonical.join(&name);
                if let Some(why) = self.guard.refuses(&canonical) {
                    self.left_out(&shown, format_args!("{why}"));
                } else if let Err(e) =
                    unlink(&dest, false).and_then(|()| self.dir(&path, &canonical, &dest, &shown))
                {
                    self.left_out(&shown, format_args!("cannot be copied: {e}"));
                }
            } else if kind.is_file() {
                if let Err(e) = unlink(&dest, false).and_then(|()| {
                    fs::copy(&path, &dest).map_err(Error::io("cannot copy into", &dest))
                }) {
                    self.left_out(&shown, format_args!("cannot be copied: {e}"));
                }
            } else {
                self.left_out(
                    &shown,
                    format_args!(
                        "is {}; only regular files, directories and symlinks are copied",
                        special(&kind)
                    ),
                );
            }
        }
        Ok(())
    }

    /// Recreates the link at `path` as `dest`, pointing where it pointed.
    fn link(&mut self, path: &Path, dest: &Path, shown: &Path) {
        let points_to = match fs::read_link(path) {
            Ok(points_to) => points_to,
            Err(e) => return self.left_out(shown, format_args!("cannot be read: {e}")),
        };
        #[cfg(unix)]
        {
            let made = unlink(dest, true).and_then(|()| {
                std::os::unix::fs::symlink(&points_to, dest)
                    .map_err(Error::io("cannot create the link", dest))
            });
            if let Err(e) = made {
                return self.left_out(shown, format_args!("cannot be recreated as a link: {e}"));
            }
            if leaves(shown, &points_to) {
                self.refused.push(format!(
                    "`{}` was kept as a link to `{}`, outside the logged directory; what it \
                     points to was not copied",
                    shown.display(),
                    points_to.display()
                ));
            }
        }
        #[cfg(not(unix))]
        self.left_out(
            shown,
            format_args!(
                "is a link to `{}`; links are not copied on this system",
                points_to.display()
            ),
        );
    }

    fn left_out(&mut self, shown: &Path, why: std::fmt::Arguments<'_>) {
        self.refused
            .push(format!("`{}` was left out: it {why}", shown.display()));
    }
}

/// Removes what an earlier copy of the same artifact left at `dest` that would be written
/// through or be in the way: a link (never followed, so nothing outside the run is
/// overwritten), and with `files` also a plain file.
fn unlink(dest: &Path, files: bool) -> Result<()> {
    match fs::symlink_metadata(dest) {
        Ok(meta) if meta.file_type().is_symlink() || (files && meta.is_file()) => {
            fs::remove_file(dest).map_err(Error::io("cannot replace", dest))
        }
        _ => Ok(()),
    }
}

/// Whether a link at `shown` (its path from the logged directory's name on) pointing to
/// `points_to` leads outside the logged directory.
fn leaves(shown: &Path, points_to: &Path) -> bool {
    // The depth of the link's folder: 1 for the logged directory itself.
    let mut depth = shown.components().count() as i64 - 1;
    for component in points_to.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 1 {
                    return true;
                }
            }
            Component::RootDir | Component::Prefix(_) => return true,
        }
    }
    false
}

/// What a file that is neither a regular file, a directory nor a link is, in words.
fn special(kind: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_char_device() {
            return "a character device";
        }
    }
    let _ = kind;
    "not a regular file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_that_leave_the_logged_directory_are_found() {
        let at = |shown: &str, to: &str| leaves(Path::new(shown), Path::new(to));
        assert!(!at("data/latest", "step-10"));
        assert!(!at("data/a/b/link", "../c/file"));
        assert!(!at("data/a/link", "../file"));
        assert!(at("data/link", "../secret"));
        assert!(at("data/a/link", "../../x"));
        assert!(at("data/link", "/etc/passwd"));
        assert!(!at("data/link", "./a/../b"));
    }
}
