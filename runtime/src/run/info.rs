//! Gathering `metadata/info.json` ([`Info`], in [`crate::store::meta`]) at the start of a
//! run: what a run was and where it ran. Secrets never get
//! in: there is no environment dump, and command-line values that look like credentials are
//! replaced by `<redacted>` ([`crate::redact`]); an argument that is not UTF-8 is kept
//! lossily rather than stopping the run.

use std::path::Path;

use crate::launcher::Launch;
use crate::problems::Problems;
use crate::redact;
use crate::store::layout;
use crate::store::meta::{rfc3339, Info, RankInfo, Status};

impl Info {
    /// Gathers what is known at the start of a run.
    pub(crate) fn gather(
        experiment: &str,
        id: u64,
        function: &str,
        file: &str,
        launch: &Launch,
        start: f64,
    ) -> Info {
        let cwd = std::env::current_dir().ok();
        Info {
            experiment: experiment.to_owned(),
            id,
            status: Status::Running,
            error: None,
            start_time: rfc3339(start),
            start_unix: start,
            end_time: None,
            end_unix: None,
            duration_s: None,
            function: function.to_owned(),
            source_file: file.to_owned(),
            command: redact::command_line(std::env::args_os()),
            executable: std::env::current_exe()
                .ok()
                .map(|p| p.display().to_string()),
            working_dir: cwd.as_ref().map(|p| p.display().to_string()),
            host: host(),
            user: user(),
            pid: std::process::id(),
            rank: launch.rank,
            world_size: launch.world_size,
            launcher: launch.launcher.to_owned(),
            job: launch.job.clone(),
            labbook_version: env!("CARGO_PKG_VERSION").to_owned(),
            features: features(),
            backends: Vec::new(),
            tags: Default::default(),
            group: None,
            notes: None,
            overrides: Default::default(),
            stopped_early: None,
            git: cwd.as_deref().and_then(super::code::git),
            build: None,
            machine: None,
            seed: None,
            queue_blocked_s: 0.0,
            resumes: 0,
            resumed_from_step: None,
            ranks: Vec::new(),
            problems: Problems::default(),
        }
    }

    /// Carries the original start over from the `info.json` of the run being resumed.
    pub(crate) fn resumed(&mut self, previous: &Path, step: u64) {
        if let Some(before) = std::fs::read_to_string(previous)
            .ok()
            .and_then(|t| serde_json::from_str::<Info>(&t).ok())
        {
            self.start_time = before.start_time;
            self.start_unix = before.start_unix;
            self.resumes = before.resumes;
            // Tags given since (`run().tag`, `labbook tag`) stay; this start's win.
            for (key, value) in before.tags {
                self.tags.entry(key).or_insert(value);
            }
            self.group = self.group.take().or(before.group);
            self.notes = self.notes.take().or(before.notes);
        }
        self.resumes += 1;
        self.resumed_from_step = Some(step);
    }
}

/// The user running the process: `USER`, `LOGNAME` or `USERNAME`, else the name of its uid
/// in `/etc/passwd` (containers and batch jobs often set none of them).
fn user() -> Option<String> {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok())
        .or_else(login_name)
}

/// The owner of this process by `/etc/passwd`, for when `USER` and friends are unset (in
/// containers and batch jobs).
fn login_name() -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let uid = std::fs::metadata("/proc/self").ok()?.uid();
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let name = passwd.lines().find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
        });
        Some(name.unwrap_or_else(|| format!("uid {uid}")))
    }
    #[cfg(not(unix))]
    None
}

pub(crate) fn host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// labbook's Cargo features compiled into this program.
fn features() -> Vec<String> {
    let features = [
        ("off", cfg!(feature = "off")),
        ("dfdx", cfg!(feature = "dfdx")),
        ("candle", cfg!(feature = "candle")),
        ("tensorboard", cfg!(feature = "tensorboard")),
        ("mlflow", cfg!(feature = "mlflow")),
        ("wandb", cfg!(feature = "wandb")),
        ("prov", cfg!(feature = "prov")),
        ("nvml", cfg!(feature = "nvml")),
    ];
    features
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| (*name).to_owned())
        .collect()
}

/// Writes this rank's `metadata/rank<r>.json` and, on rank 0, `info.json` with every rank
/// that has reported so far.
pub(super) fn write_info(dir: &Path, info: &Info) -> crate::error::Result<()> {
    layout::write_json(&layout::rank_file(dir, info.rank), &info.rank_info())?;
    if info.rank != 0 {
        return Ok(());
    }
    let mut info = info.clone();
    if info.world_size > 1 {
        info.ranks = (0..info.world_size)
            .filter_map(|rank| {
                let text = std::fs::read_to_string(layout::rank_file(dir, rank)).ok()?;
                serde_json::from_str::<RankInfo>(&text).ok()
            })
            .collect();
    }
    layout::write_json(&layout::info_file(dir), &info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn the_user_is_found_without_environment_variables() {
        assert!(login_name().is_some_and(|name| !name.is_empty()));
    }
}
