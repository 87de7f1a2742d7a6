//! A folder held open to read the files in it by name. On Unix the folder's path is looked up
//! once and each file by its name alone (`openat`, through rustix), which a listing of 100,000
//! runs feels: the kernel's walk along a path is most of what opening a small file costs.
//! Elsewhere each file is opened by its whole path.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An open folder.
#[derive(Debug)]
pub(crate) struct Folder {
    path: PathBuf,
    #[cfg(unix)]
    fd: std::os::fd::OwnedFd,
}

#[cfg(unix)]
impl Folder {
    /// The folder at `path`; an error if it is not one that can be read.
    pub fn open(path: &Path) -> io::Result<Folder> {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        // Linux can hold a folder open for lookups alone, which costs less to open and close.
        #[cfg(target_os = "linux")]
        let flags = flags | OFlags::PATH;
        let fd = rustix::fs::open(path, flags, Mode::empty())?;
        Ok(Folder {
            path: path.to_owned(),
            fd,
        })
    }

    /// File `name` of the folder (or deeper: `3/metadata`), opened to read.
    fn file(&self, name: &Path) -> io::Result<File> {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        Ok(File::from(rustix::fs::openat(
            &self.fd,
            name,
            flags,
            Mode::empty(),
        )?))
    }

    /// Whether `name` (or deeper: `3/metadata`) is a folder, links followed.
    pub fn is_dir(&self, name: impl AsRef<Path>) -> bool {
        use rustix::fs::{AtFlags, FileType};
        rustix::fs::statat(&self.fd, name.as_ref(), AtFlags::empty())
            .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode).is_dir())
    }
}

#[cfg(not(unix))]
impl Folder {
    /// The folder at `path`; an error if it is not one.
    pub fn open(path: &Path) -> io::Result<Folder> {
        if !path.is_dir() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such folder"));
        }
        Ok(Folder {
            path: path.to_owned(),
        })
    }

    /// File `name` of the folder (or deeper: `3/metadata`), opened to read.
    fn file(&self, name: &Path) -> io::Result<File> {
        File::open(self.path.join(name))
    }

    /// Whether `name` (or deeper: `3/metadata`) is a folder, links followed.
    pub fn is_dir(&self, name: impl AsRef<Path>) -> bool {
        self.path.join(name).is_dir()
    }
}

impl Folder {
    /// The folder's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole of file `name`, in one read when it is the size it was when opened (a file
    /// labbook replaces by renaming a new one over it always is).
    pub fn read(&self, name: impl AsRef<Path>) -> io::Result<Vec<u8>> {
        let mut file = self.file(name.as_ref())?;
        let len = file.metadata()?.len();
        let mut bytes = vec![0; usize::try_from(len).unwrap_or(usize::MAX)];
        match file.read_exact(&mut bytes) {
            Ok(()) => Ok(bytes),
            // Shorter than it was a moment ago: written in place by someone else.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                bytes.clear();
                file.rewind()?;
                file.read_to_end(&mut bytes)?;
                Ok(bytes)
            }
            Err(e) => Err(e),
        }
    }
}

/// Where a walk of the store found a run: its experiment's folder, held open while the runs
/// found in it are, and the run's folder name in it. Reading the run's files by that name
/// spares the kernel a walk along the whole path, and a listing an open and a close a run.
#[derive(Clone, Debug)]
pub(crate) struct FoundIn {
    pub folder: Arc<Folder>,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_read_by_name_and_folders_told_apart_through_links() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("3/metadata")).unwrap();
        std::fs::write(dir.path().join("3/metadata/info.json"), "{}").unwrap();
        std::fs::write(dir.path().join("empty"), "").unwrap();
        let folder = Folder::open(dir.path()).unwrap();
        assert!(folder.is_dir("3/metadata"));
        assert!(!folder.is_dir("3/metadata/info.json"));
        assert!(!folder.is_dir("4/metadata"));
        assert_eq!(folder.read("3/metadata/info.json").unwrap(), b"{}");
        assert_eq!(folder.read("empty").unwrap(), b"");
        let missing = folder.read("absent.json").unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        assert!(Folder::open(&dir.path().join("empty")).is_err());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("3"), dir.path().join("5")).unwrap();
            assert!(
                folder.is_dir("5/metadata"),
                "links are followed, as Path::is_dir does"
            );
        }
    }
}
