//! Shared by the integration tests: a private run store per test binary, and readers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use labbook::store::jsonl::{self, Point};

/// Points `LABBOOK_DIR` at a fresh directory, once per test binary.
pub fn store() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("labbook-test-{}-{}", std::process::id(), nanos()));
        std::fs::create_dir_all(&dir).unwrap();
        std::env::set_var("LABBOOK_DIR", &dir);
        std::env::set_var("LABBOOK_CONSOLE", "off");
        // The sampler's points would add to the streams and points these tests count;
        // tests/system.rs and each backend's system test turn it back on in a child.
        std::env::set_var("LABBOOK_SYSTEM", "off");
        // The tests run inside labbook's own work tree, often with uncommitted changes: no
        // copy of them in every run (tests/reproducibility.rs saves patches in repositories
        // of its own).
        std::env::set_var("LABBOOK_DIFF_MAX", "0");
        dir
    })
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

pub fn points(run: &Path, name: &str) -> Vec<Point> {
    let stream = jsonl::read_scalars(&run.join("metrics").join(format!("{name}.jsonl"))).unwrap();
    assert!(stream.warning.is_none(), "{:?}", stream.warning);
    stream.points
}

pub fn steps(run: &Path, name: &str) -> Vec<u64> {
    points(run, name).iter().map(|p| p.step).collect()
}

pub fn info(run: &Path) -> labbook::Info {
    let text = std::fs::read_to_string(run.join("metadata/info.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The run directories of an experiment, by id.
pub fn runs(experiment: &str) -> Vec<PathBuf> {
    let dir = store().join(experiment);
    let mut ids: Vec<u64> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect(),
        Err(_) => Vec::new(),
    };
    ids.sort();
    ids.into_iter().map(|id| dir.join(id.to_string())).collect()
}

/// What launchers set: removed from a child process so that only the test's own apply.
pub const LAUNCHER_VARIABLES: [&str; 17] = [
    "RANK",
    "WORLD_SIZE",
    "LOCAL_RANK",
    "TORCHELASTIC_RUN_ID",
    "MASTER_ADDR",
    "MASTER_PORT",
    "LABBOOK_RUN_ID",
    "SLURM_JOB_ID",
    "SLURM_STEP_ID",
    "SLURM_PROCID",
    "SLURM_NTASKS",
    "OMPI_COMM_WORLD_RANK",
    "OMPI_COMM_WORLD_SIZE",
    "PMIX_NAMESPACE",
    "PMI_RANK",
    "PMI_SIZE",
    "PMI_KVSNAME",
];

/// This test binary re-run on its `child` test as one plain process (no launcher
/// variables), with `LABBOOK_TEST_CHILD=kind` and the run store `dir`; stdout discarded.
pub fn child_command(kind: &str, dir: &Path) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child", "--test-threads", "1", "--nocapture"])
        .env("LABBOOK_TEST_CHILD", kind)
        .env("LABBOOK_DIR", dir)
        .env("LABBOOK_CONSOLE", "off")
        .env("LABBOOK_SYSTEM", "off")
        .stdout(Stdio::null());
    for key in LAUNCHER_VARIABLES {
        command.env_remove(key);
    }
    command
}

/// Every regular file under `dir`, links not followed.
pub fn regular_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                walk(&entry.path(), files);
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files
}
