//! Run ids: integers counting up per experiment, allocated with `create_dir` so that
//! processes starting at the same moment (even on a shared file system) never get the same
//! one. The ranks of one job agree on one id through a claim file named after the job key.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How long a rank waits for the rank that claimed its job to publish the run id.
const CLAIM_WAIT: Duration = Duration::from_secs(120);
const JOBS: &str = ".jobs";

/// Creates a new run directory under `experiment_dir`, or finds the one of `job`.
pub fn allocate(experiment_dir: &Path, job: Option<&str>) -> Result<(u64, PathBuf)> {
    fs::create_dir_all(experiment_dir).map_err(Error::io("cannot create", experiment_dir))?;
    let Some(job) = job else {
        return next_id(experiment_dir);
    };
    let jobs = experiment_dir.join(JOBS);
    fs::create_dir_all(&jobs).map_err(Error::io("cannot create", &jobs))?;
    let key = file_safe(job);
    let claim = jobs.join(format!("{key}.claim"));
    let published = jobs.join(format!("{key}.id"));
    match OpenOptions::new().write(true).create_new(true).open(&claim) {
        Ok(_) => {
            let (id, dir) = next_id(experiment_dir)?;
            let tmp = jobs.join(format!("{key}.id.tmp{}", std::process::id()));
            let publish = || -> std::io::Result<()> {
                fs::File::create(&tmp)?.write_all(id.to_string().as_bytes())?;
                fs::rename(&tmp, &published)
            };
            publish().map_err(Error::io("cannot write", &published))?;
            Ok((id, dir))
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let id = wait_for(&published, job)?;
            Ok((id, experiment_dir.join(id.to_string())))
        }
        Err(e) => Err(Error::io("cannot create", &claim)(e)),
    }
}

/// The directory of an existing run, for resuming it.
pub fn existing(experiment_dir: &Path, id: u64) -> Result<PathBuf> {
    let dir = experiment_dir.join(id.to_string());
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(Error::io("cannot resume", &dir)(std::io::Error::new(
            ErrorKind::NotFound,
            "no such run",
        )))
    }
}

fn next_id(experiment_dir: &Path) -> Result<(u64, PathBuf)> {
    let mut id = ids(experiment_dir)?.max().unwrap_or(0) + 1;
    loop {
        let dir = experiment_dir.join(id.to_string());
        match fs::create_dir(&dir) {
            Ok(()) => return Ok((id, dir)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => id += 1,
            Err(e) => return Err(Error::io("cannot create", &dir)(e)),
        }
    }
}

/// The ids of the runs in an experiment directory.
pub fn ids(experiment_dir: &Path) -> Result<impl Iterator<Item = u64>> {
    let entries = fs::read_dir(experiment_dir).map_err(Error::io("cannot list", experiment_dir))?;
    Ok(entries.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u64>().ok()))
}

fn wait_for(published: &Path, job: &str) -> Result<u64> {
    let start = Instant::now();
    loop {
        if let Ok(text) = fs::read_to_string(published) {
            if let Ok(id) = text.trim().parse() {
                return Ok(id);
            }
        }
        if start.elapsed() > CLAIM_WAIT {
            return Err(Error::io("waited for the run id of job", published)(
                std::io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "another process claimed job `{job}` but published no run id in {} s; \
                     if that job is gone, remove this file or set a new LABBOOK_RUN_ID",
                        CLAIM_WAIT.as_secs()
                    ),
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn file_safe(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_count_up_and_jobs_share_one() {
        let tmp = tempfile::tempdir().unwrap();
        let exp = tmp.path().join("exp");
        assert_eq!(allocate(&exp, None).unwrap().0, 1);
        assert_eq!(allocate(&exp, None).unwrap().0, 2);
        let (a, _) = allocate(&exp, Some("job/1")).unwrap();
        let (b, _) = allocate(&exp, Some("job/1")).unwrap();
        let (c, _) = allocate(&exp, Some("job/2")).unwrap();
        assert_eq!((a, b, c), (3, 3, 4));
    }
}
