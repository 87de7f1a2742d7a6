//! Run ids: integers counting up per experiment, allocated with `create_dir` so that
//! processes starting at the same moment (even on a shared file system) never get the same
//! one.
//!
//! The ranks of one launch agree on one run per experiment call through claim files, using
//! only the file system (ranks may run on different hosts that share it). A job key names a
//! launch but may be reused (three calls in one `sbatch` job, a second program in the same
//! job, every local torchrun with the same rendezvous address), so the claims come in
//! generations: for key `K` and the `n`-th call of the experiment in this process,
//!
//! ```text
//! <experiment>/.jobs/<K>/<n>/g<g>/rank<r>   taken by rank r of generation g (create_new)
//!                              /open        the first claimant of g (create_new)
//!                              /id          the run id of g, published by the first claimant
//! ```
//!
//! Each claim file records its process: rank, world size, process start, host and pid.
//! Rank `r` tries the generations after the newest one in which `rank<r>` is taken (those
//! before are earlier launches) and stays in the first where it can take `rank<r>` and that
//! belongs to its own launch; the first claimant of a generation allocates the run and
//! publishes its id (written aside, then renamed), the others wait for it. A generation
//! belongs to another launch when its first claimant reported another world size, or a
//! process start more than [`LAUNCH_WINDOW`] away from this one's (the ranks of one launch
//! are started together; this keeps a later launch out of a generation that an earlier,
//! crashed launch left with ranks missing). On one host it is stricter: a first
//! claimant whose process is gone and started more than [`HOST_LAUNCH_SPREAD`] away was
//! another launch (a local torchrun stopped early and started again). A generation whose
//! first claimant died on this host before publishing an id is left for the next one.
//!
//! What it cannot tell apart: two launches with the same key and world size, started within
//! [`LAUNCH_WINDOW`] of each other, the earlier one having crashed before all its ranks
//! reached this call, its first claimant on another host (or still alive). A distinct
//! `LABBOOK_RUN_ID` per launch rules that out.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How long a rank waits for the first claimant of its generation to publish the run id.
const CLAIM_WAIT: Duration = Duration::from_secs(120);
/// How long a rank waits for the first claimant's record to be readable before it takes the
/// generation as abandoned (its writer died between creating and writing it).
const OPEN_WAIT: Duration = Duration::from_secs(10);
/// Processes started further apart than this are never ranks of one launch.
pub const LAUNCH_WINDOW: Duration = Duration::from_secs(120);
/// A launcher starts the ranks it runs on one host within this time; a first claimant on
/// this host that started earlier than that and is gone belongs to an earlier launch.
pub const HOST_LAUNCH_SPREAD: Duration = Duration::from_secs(5);
const JOBS: &str = ".jobs";
/// Keys whose encoding is at most this long are kept whole; longer ones are hashed.
const WHOLE_KEY_BYTES: usize = 120;

/// One process's part in a launch, as its launcher describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// Identifies the launch; equal in all its processes.
    pub key: String,
    pub rank: u32,
    pub world_size: u32,
    /// When this process started, as the wall clock read it.
    pub started: SystemTime,
    pub host: String,
    pub pid: u32,
}

/// What the first claimant of a generation records in `open`.
#[derive(Serialize, Deserialize, Debug)]
struct Opener {
    rank: u32,
    world_size: u32,
    /// Milliseconds since the Unix epoch.
    started_ms: u64,
    host: String,
    pid: u32,
}

/// Creates a new run directory under `experiment_dir`, or, for a process of a launch, finds
/// the run that this call shares with the other ranks of the launch.
pub fn allocate(experiment_dir: &Path, claim: Option<&Claim>) -> Result<(u64, PathBuf)> {
    fs::create_dir_all(experiment_dir).map_err(Error::io("cannot create", experiment_dir))?;
    match claim {
        None => next_id(experiment_dir),
        Some(claim) => {
            let call = next_call(experiment_dir, &claim.key);
            allocate_call(experiment_dir, claim, call)
        }
    }
}

/// Counts the calls of each experiment per job key in this process, from 0.
fn next_call(experiment_dir: &Path, key: &str) -> u64 {
    static CALLS: Mutex<Option<HashMap<(PathBuf, String), u64>>> = Mutex::new(None);
    let mut calls = CALLS.lock().unwrap_or_else(|e| e.into_inner());
    let count = calls
        .get_or_insert_with(HashMap::new)
        .entry((experiment_dir.to_owned(), key.to_owned()))
        .or_insert(0);
    let call = *count;
    *count += 1;
    call
}

/// The run of call `call` of the launch `claim` belongs to.
fn allocate_call(experiment_dir: &Path, claim: &Claim, call: u64) -> Result<(u64, PathBuf)> {
    let calls = experiment_dir
        .join(JOBS)
        .join(key_file_name(&claim.key))
        .join(call.to_string());
    let me = Opener {
        rank: claim.rank,
        world_size: claim.world_size,
        started_ms: millis(claim.started),
        host: claim.host.clone(),
        pid: claim.pid,
    };
    let record = serde_json::to_vec(&me).unwrap_or_default();
    let rank_file = format!("rank{}", claim.rank);
    let mut generation = first_free(&calls, &rank_file);
    loop {
        let dir = calls.join(format!("g{generation}"));
        generation += 1;
        fs::create_dir_all(&dir).map_err(Error::io("cannot create", &dir))?;
        if !create_new(&dir.join(&rank_file), &record)? {
            continue; // this rank of the generation belongs to an earlier launch
        }
        let open = dir.join("open");
        let published = dir.join("id");
        if create_new(&open, &record)? {
            let (id, run) = next_id(experiment_dir)?;
            publish(&published, id)?;
            return Ok((id, run));
        }
        let Some(opener) = read_opener(&open) else {
            continue;
        };
        if !same_launch(&opener, &me) {
            continue;
        }
        match wait_for(&published, &opener, &me, &claim.key)? {
            Some(id) => return Ok((id, experiment_dir.join(id.to_string()))),
            None => continue,
        }
    }
}

/// The generation after the newest one in which `rank_file` is taken: earlier ones belong
/// to earlier launches, so a key used by many launches costs one listing, not a walk.
fn first_free(calls: &Path, rank_file: &str) -> u64 {
    let Ok(entries) = fs::read_dir(calls) else {
        return 0;
    };
    let mut generations: Vec<u64> = entries
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_prefix('g')?
                .parse()
                .ok()
        })
        .collect();
    generations.sort_unstable();
    generations
        .into_iter()
        .rev()
        .find(|g| calls.join(format!("g{g}")).join(rank_file).exists())
        .map_or(0, |g| g + 1)
}

/// Whether the first claimant of a generation was started with this process.
fn same_launch(opener: &Opener, me: &Opener) -> bool {
    let apart = Duration::from_millis(opener.started_ms.abs_diff(me.started_ms));
    opener.world_size == me.world_size
        && apart <= LAUNCH_WINDOW
        && !(apart > HOST_LAUNCH_SPREAD && died_here(opener, me))
}

/// Creates `path` holding `content` unless it exists; `false` when it does.
fn create_new(path: &Path, content: &[u8]) -> Result<bool> {
    match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(mut file) => {
            file.write_all(content)
                .map_err(Error::io("cannot write", path))?;
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(Error::io("cannot create", path)(e)),
    }
}

fn publish(published: &Path, id: u64) -> Result<()> {
    let tmp = published.with_extension(format!("tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        fs::File::create(&tmp)?.write_all(id.to_string().as_bytes())?;
        fs::rename(&tmp, published)
    };
    write().map_err(Error::io("cannot write", published))
}

/// The record of a generation's first claimant, once it is written; `None` when it stays
/// unreadable (its writer died in between).
fn read_opener(open: &Path) -> Option<Opener> {
    let start = Instant::now();
    loop {
        if let Ok(text) = fs::read(open) {
            if let Ok(opener) = serde_json::from_slice(&text) {
                return Some(opener);
            }
        }
        if start.elapsed() > OPEN_WAIT {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
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

/// Waits for the run id of a generation; `None` when its first claimant died on this host
/// without publishing one.
fn wait_for(published: &Path, opener: &Opener, me: &Opener, job: &str) -> Result<Option<u64>> {
    let start = Instant::now();
    let mut checked = Instant::now();
    loop {
        if let Ok(text) = fs::read_to_string(published) {
            if let Ok(id) = text.trim().parse() {
                return Ok(Some(id));
            }
        }
        if checked.elapsed() > Duration::from_secs(1) {
            checked = Instant::now();
            if died_here(opener, me) && fs::metadata(published).is_err() {
                return Ok(None);
            }
        }
        if start.elapsed() > CLAIM_WAIT {
            return Err(Error::io("waited for the run id of job", published)(
                std::io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "rank {} of job `{job}` claimed this run but published no id in {} s; \
                         if that process is gone, set a new LABBOOK_RUN_ID",
                        opener.rank,
                        CLAIM_WAIT.as_secs()
                    ),
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether `opener` ran on the host of `me` and its process is gone (known only where
/// `/proc` lists processes).
fn died_here(opener: &Opener, me: &Opener) -> bool {
    let proc = Path::new("/proc");
    opener.host == me.host
        && proc.join("self").exists()
        && !proc.join(opener.pid.to_string()).exists()
}

/// The file name for a job key: one-to-one, within file name limits, and readable. Keys of
/// up to [`WHOLE_KEY_BYTES`] encoded bytes are kept whole as `key-<encoded>`, with every
/// byte other than ASCII letters, digits, `-` and `_` written `%XX`; longer keys become
/// `hash-<first encoded bytes>-<64-bit FNV-1a of the key>`.
fn key_file_name(key: &str) -> String {
    let mut encoded = String::with_capacity(key.len());
    let mut cuts = Vec::new();
    for byte in key.bytes() {
        cuts.push(encoded.len());
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    if encoded.len() <= WHOLE_KEY_BYTES {
        return format!("key-{encoded}");
    }
    let cut = cuts
        .into_iter()
        .take_while(|&c| c <= 60)
        .last()
        .unwrap_or(0);
    format!("hash-{}-{:016x}", &encoded[..cut], fnv1a(key.as_bytes()))
}

/// The 64-bit FNV-1a hash: stable across builds and platforms, unlike the standard hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(key: &str, rank: u32, world_size: u32, started_s: u64) -> Claim {
        Claim {
            key: key.to_owned(),
            rank,
            world_size,
            started: UNIX_EPOCH + Duration::from_secs(1_000_000 + started_s),
            host: "node1".to_owned(),
            pid: 1,
        }
    }

    #[test]
    fn ids_count_up() {
        let tmp = tempfile::tempdir().unwrap();
        let exp = tmp.path().join("exp");
        assert_eq!(allocate(&exp, None).unwrap().0, 1);
        assert_eq!(allocate(&exp, None).unwrap().0, 2);
    }

    #[test]
    fn the_ranks_of_a_launch_share_each_call_and_a_later_launch_gets_new_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let exp = tmp.path().join("exp");
        let id = |rank, started, call| {
            allocate_call(&exp, &claim("job/1", rank, 2, started), call)
                .unwrap()
                .0
        };
        // First launch: rank 1 comes first to call 0, rank 0 first to call 1.
        let first = [id(1, 0, 0), id(0, 0, 0), id(0, 0, 1), id(1, 0, 1)];
        assert_eq!(first, [1, 1, 2, 2]);
        // The same key again, one minute later: new runs.
        let second = [id(0, 60, 0), id(1, 61, 0), id(1, 61, 1), id(0, 60, 1)];
        assert_eq!(second, [3, 3, 4, 4]);
        // Another key is another launch.
        let other = allocate_call(&exp, &claim("job/2", 0, 2, 0), 0).unwrap().0;
        assert_eq!(other, 5);
    }

    #[test]
    fn a_launch_never_joins_what_a_crashed_launch_left_with_ranks_missing() {
        let tmp = tempfile::tempdir().unwrap();
        let exp = tmp.path().join("exp");
        let id = |claim: Claim| allocate_call(&exp, &claim, 0).unwrap().0;
        // Rank 0 of a two-rank launch claimed call 0, then its launch died.
        assert_eq!(id(claim("job", 0, 2, 0)), 1);
        // Relaunched an hour later: rank 1 is free in the old generation, but its first
        // claimant started with another launch.
        assert_eq!(id(claim("job", 1, 2, 3600)), 2);
        assert_eq!(id(claim("job", 0, 2, 3600)), 2);
        // Rank 1 of a launch with another world size: never the old one either.
        assert_eq!(id(claim("job", 1, 3, 3600)), 3);
    }

    /// The pid of a process of this host that has ended.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn on_one_host_a_gone_first_claimant_started_seconds_earlier_was_another_launch() {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let exp = tmp.path().join("exp");
        let id = |claim: Claim| allocate_call(&exp, &claim, 0).unwrap().0;
        let gone = |rank, started_s| Claim {
            pid: dead_pid(),
            ..claim("job", rank, 2, started_s)
        };
        // Started, claimed call 0 as rank 0 of two, stopped; started again 30 s later.
        assert_eq!(id(gone(0, 0)), 1);
        assert_eq!(id(claim("job", 1, 2, 30)), 2);
        assert_eq!(id(claim("job", 0, 2, 30)), 2);
        // Rank 0 already ended, its rank 1 started with it: the same launch.
        assert_eq!(id(gone(0, 100)), 3);
        assert_eq!(id(claim("job", 1, 2, 101)), 3);
    }

    #[test]
    fn a_generation_whose_first_claimant_never_wrote_its_record_is_passed_over() {
        let tmp = tempfile::tempdir().unwrap();
        let exp = tmp.path().join("exp");
        let dir = exp.join(JOBS).join(key_file_name("job")).join("0/g0");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("open"), b"").unwrap();
        let start = Instant::now();
        let (id, _) = allocate_call(&exp, &claim("job", 1, 2, 0), 0).unwrap();
        assert_eq!(id, 1);
        assert!(exp
            .join(JOBS)
            .join(key_file_name("job"))
            .join("0/g1/id")
            .exists());
        assert!(start.elapsed() < OPEN_WAIT + Duration::from_secs(5));
    }

    #[test]
    fn calls_are_counted_per_experiment_and_key() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        assert_eq!(
            [
                next_call(&a, "k"),
                next_call(&a, "k"),
                next_call(&b, "k"),
                next_call(&a, "j")
            ],
            [0, 1, 0, 0]
        );
    }

    #[test]
    fn keys_that_differ_only_in_punctuation_are_different_launches() {
        let tmp = tempfile::tempdir().unwrap();
        let exp = tmp.path().join("exp");
        let a = allocate_call(&exp, &claim("job/1", 0, 2, 0), 0).unwrap().0;
        let b = allocate_call(&exp, &claim("job_1", 1, 2, 0), 0).unwrap().0;
        let c = allocate_call(&exp, &claim("job.1", 1, 2, 0), 0).unwrap().0;
        assert_eq!((a, b, c), (1, 2, 3));
    }

    #[test]
    fn job_keys_map_one_to_one_onto_file_names() {
        let long = |last: char| format!("{}{last}", "x/".repeat(200));
        let keys = [
            "a/b".to_owned(),
            "a_b".to_owned(),
            "a%2Fb".to_owned(),
            "a.b".to_owned(),
            ".".to_owned(),
            "..".to_owned(),
            "".to_owned(),
            "ö".to_owned(),
            "hash-a".to_owned(),
            long('1'),
            long('2'),
        ];
        let names: Vec<String> = keys.iter().map(|k| key_file_name(k)).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "{names:?}");
        assert_eq!(names[0], "key-a%2Fb");
        for name in &names {
            assert!(name.len() <= 255 && !name.starts_with('.'), "{name}");
            assert!(name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_%".contains(&b)));
        }
        // Stable across builds: ranks built apart still agree.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
