//! `#[log(artifact)]`: a file or directory copied (never moved) into
//! `artifacts/<name>/<file name>` when the site fires.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::store::layout;

/// Values a `#[log(artifact)]` site records: paths.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be logged as an `artifact`",
    label = "not a path",
    note = "an `artifact` takes a path to a file or directory (`&str`, `String`, `Path`, `PathBuf`)"
)]
pub trait Artifact {
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

/// Copies `source` into the run and returns where it now is.
pub(crate) fn copy(dir: &Path, name: &str, rank: u32, source: &Path) -> Result<PathBuf> {
    let folder = if rank == 0 {
        name.to_owned()
    } else {
        format!("{name}.rank{rank}")
    };
    let file_name = source.file_name().ok_or_else(|| Error::InvalidValue {
        name: name.to_owned(),
        reason: format!("{} names no file or directory", source.display()),
    })?;
    let target = dir.join(layout::ARTIFACTS).join(folder).join(file_name);
    let meta = fs::metadata(source).map_err(|e| Error::InvalidValue {
        name: name.to_owned(),
        reason: format!(
            "cannot read {}: {e}; nothing was copied and the run goes on",
            source.display()
        ),
    })?;
    if meta.is_dir() {
        copy_dir(source, &target)?;
    } else {
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(Error::io("cannot create", parent))?;
        }
        fs::copy(source, &target).map_err(Error::io("cannot copy into", &target))?;
    }
    Ok(target)
}

fn copy_dir(source: &Path, target: &Path) -> Result<()> {
    fs::create_dir_all(target).map_err(Error::io("cannot create", target))?;
    for entry in fs::read_dir(source).map_err(Error::io("cannot list", source))? {
        let entry = entry.map_err(Error::io("cannot list", source))?;
        let to = target.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &to)?;
        } else {
            fs::copy(entry.path(), &to).map_err(Error::io("cannot copy into", &to))?;
        }
    }
    Ok(())
}
