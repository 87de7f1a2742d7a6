//! What a run records to rebuild it, read back with labbook's own reader: the compiler,
//! target, profile and `Cargo.lock` hash, the crate, the `#[config]`'s seed, the machine,
//! and for a dirty git tree a patch that `git apply` takes onto the commit, with untracked
//! files listed and secret-looking and over-large files left out. Without `git` on `PATH`
//! the git fields are absent and the run goes on.
//!
//! Each run is a child process (this binary re-run on `child`) started in a temporary git
//! repository, since git facts come from the working directory.

mod support;

use std::path::Path;
use std::process::Command;

use labbook::prelude::*;
use labbook::store::meta::LeftOutReason;
use labbook::store::read::Store;
use labbook::Info;
use sha2::{Digest, Sha256};

#[derive(Serialize)]
struct Hp {
    seed: u64,
    lr: f64,
}

#[experiment(name = "repro")]
fn repro(#[config] hp: &Hp) {
    #[log(metric)]
    let lr = hp.lr;
}

/// The body of every child process.
#[test]
fn child() {
    if std::env::var("LABBOOK_TEST_CHILD").as_deref() == Ok("repro") {
        repro(&Hp {
            seed: 1234,
            lr: 0.1,
        });
    }
}

/// `git -C dir <args>`, which must succeed; its output.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A repository with one commit of `files`.
fn repository(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "-q"]);
    for (name, bytes) in files {
        let path = repo.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    git(repo.path(), &["add", "-A"]);
    let identity = ["-c", "user.name=t", "-c", "user.email=t@example.org"];
    git(
        repo.path(),
        &[&identity[..], &["commit", "-q", "-m", "start"]].concat(),
    );
    repo
}

/// Runs `repro` in a child started in `cwd`; the run's info, read back by the reader.
fn run_in(
    cwd: &Path,
    vars: &[(&str, &str)],
) -> (tempfile::TempDir, labbook::store::read::RunDir, Info) {
    let store = tempfile::tempdir().unwrap();
    let status = support::child_command("repro", store.path())
        .current_dir(cwd)
        .env_remove("CUDA_VISIBLE_DEVICES")
        .env_remove("LABBOOK_DIFF_MAX")
        .envs(vars.iter().copied())
        .status()
        .unwrap();
    assert!(status.success());
    let run = Store::open(store.path()).unwrap().run("repro", 1).unwrap();
    let info = run.info().unwrap();
    (store, run, info)
}

#[test]
fn a_dirty_tree_is_saved_as_a_patch_that_applies_onto_the_commit() {
    let big_before = vec![b'a'; 10];
    let repo = repository(&[
        ("src/main.rs", b"fn main() {}\n"),
        (".env", b"TOKEN=old\n"),
        ("keys/server.pem", b"old key\n"),
        ("data/big.txt", &big_before),
        (".gitignore", b"*.log\n"),
    ]);
    let top = repo.path();
    let commit = git(top, &["rev-parse", "HEAD"]);
    std::fs::write(top.join("src/main.rs"), "fn main() {\n    train();\n}\n").unwrap();
    std::fs::write(top.join(".env"), "TOKEN=hunter2-secret\n").unwrap();
    std::fs::write(top.join("keys/server.pem"), "PRIVATE hunter2-secret\n").unwrap();
    std::fs::write(top.join("data/big.txt"), vec![b'b'; 5000]).unwrap();
    std::fs::write(top.join("notes.txt"), "untracked\n").unwrap();
    std::fs::write(top.join("train.log"), "ignored\n").unwrap();

    let (_store, run, info) = run_in(&top.join("src"), &[("LABBOOK_DIFF_MAX", "2000")]);
    let git_info = info.git.expect("a git work tree");
    assert_eq!(git_info.commit, commit);
    assert!(git_info.dirty);
    assert_eq!(git_info.untracked, ["notes.txt"]);
    let diff = git_info.diff.expect("a dirty tree has a patch");
    assert_eq!(diff.file, "code/diff.patch");
    let left_out: Vec<_> = diff
        .left_out
        .iter()
        .map(|l| (l.path.as_str(), l.reason))
        .collect();
    assert_eq!(
        left_out,
        [
            (".env", LeftOutReason::Secret),
            ("data/big.txt", LeftOutReason::TooLarge),
            ("keys/server.pem", LeftOutReason::Secret),
        ]
    );
    let patch_file = run.path().join(&diff.file);
    let patch = std::fs::read_to_string(&patch_file).unwrap();
    assert_eq!(diff.bytes, patch.len() as u64);
    assert!(!patch.contains("hunter2"), "{patch}");

    // Onto a clean checkout of the commit, the patch applies and gives the changed source.
    let clone = tempfile::tempdir().unwrap();
    git(
        clone.path(),
        &["clone", "-q", top.to_str().unwrap(), "checkout"],
    );
    let checkout = clone.path().join("checkout");
    git(&checkout, &["checkout", "-q", &commit]);
    let patch_path = patch_file.to_str().unwrap();
    git(&checkout, &["apply", "--check", patch_path]);
    git(&checkout, &["apply", patch_path]);
    assert_eq!(
        std::fs::read_to_string(checkout.join("src/main.rs")).unwrap(),
        "fn main() {\n    train();\n}\n"
    );
    assert_eq!(
        std::fs::read(checkout.join("data/big.txt")).unwrap(),
        big_before
    );
}

#[test]
fn a_binary_change_applies_too() {
    let repo = repository(&[("weights.bin", &[0u8, 1, 2, 255, 0, 7])]);
    let top = repo.path();
    let changed: Vec<u8> = (0..=255u8).rev().chain([0, 0, 1]).collect();
    std::fs::write(top.join("weights.bin"), &changed).unwrap();
    let (_store, run, info) = run_in(top, &[]);
    let diff = info.git.unwrap().diff.unwrap();
    assert!(diff.left_out.is_empty(), "{diff:?}");
    let clone = tempfile::tempdir().unwrap();
    git(clone.path(), &["clone", "-q", top.to_str().unwrap(), "c"]);
    let checkout = clone.path().join("c");
    git(
        &checkout,
        &["apply", run.path().join(&diff.file).to_str().unwrap()],
    );
    assert_eq!(
        std::fs::read(checkout.join("weights.bin")).unwrap(),
        changed
    );
}

#[test]
fn a_clean_tree_has_no_patch() {
    let repo = repository(&[("a.txt", b"a\n")]);
    let (_store, run, info) = run_in(repo.path(), &[]);
    let git_info = info.git.unwrap();
    assert!(!git_info.dirty && git_info.diff.is_none() && git_info.untracked.is_empty());
    assert!(!run.path().join("code").exists());
}

#[test]
fn a_zero_diff_max_saves_no_patch() {
    let repo = repository(&[("a.txt", b"a\n")]);
    std::fs::write(repo.path().join("a.txt"), "changed\n").unwrap();
    let (_store, run, info) = run_in(repo.path(), &[("LABBOOK_DIFF_MAX", "0")]);
    let git_info = info.git.unwrap();
    assert!(git_info.dirty && git_info.diff.is_none());
    assert!(!run.path().join("code").exists());
}

#[test]
fn without_git_on_the_path_there_are_no_git_fields_and_no_error() {
    let repo = repository(&[("a.txt", b"a\n")]);
    std::fs::write(repo.path().join("a.txt"), "changed\n").unwrap();
    let (_store, run, info) = run_in(repo.path(), &[("PATH", "")]);
    assert_eq!(info.status, labbook::Status::Complete);
    assert!(info.git.is_none());
    assert!(info.problems.is_empty());
    assert!(!run.path().join("code").exists());
    let text = std::fs::read_to_string(run.path().join("metadata/info.json")).unwrap();
    assert!(!text.contains("\"git\""), "{text}");
}

#[test]
fn the_build_the_crate_the_seed_and_the_machine_are_recorded() {
    let repo = repository(&[("a.txt", b"a\n")]);
    let (_store, _run, info) = run_in(repo.path(), &[]);
    let build = info.build.expect("build facts");
    let rustc = |args: &[&str]| {
        let out = Command::new("rustc")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(build.rustc, rustc(&["-V"]).trim());
    let host = rustc(&["-vV"])
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .unwrap();
    assert_eq!(build.target, host);
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    assert_eq!(build.profile, profile);
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    let sha = format!("{:x}", Sha256::digest(std::fs::read(lock).unwrap()));
    assert_eq!(build.cargo_lock_sha256.as_deref(), Some(sha.as_str()));
    let program = build.program.expect("the crate");
    assert_eq!(
        (program.name.as_str(), program.version.as_str()),
        ("labbook", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(info.seed, Some(serde_json::json!(1234)));
    let machine = info.machine.expect("the machine");
    let available = std::thread::available_parallelism().unwrap().get();
    assert_eq!(machine.cpus_available, Some(available));
    assert!(machine.cpus >= available, "{machine:?}");
    assert!(machine.memory_bytes > 0, "{machine:?}");
}

/// With the `nvml` feature, the machine names the GPUs `nvidia-smi` lists (none without a
/// driver or a GPU).
#[cfg(feature = "nvml")]
#[test]
fn the_machine_names_the_visible_gpus() {
    let repo = repository(&[("a.txt", b"a\n")]);
    let (_store, _run, info) = run_in(repo.path(), &[]);
    let smi = Command::new("nvidia-smi")
        .args(["--query-gpu=name", "--format=csv,noheader"])
        .output();
    let listed: Vec<String> = match smi {
        Ok(out) if out.status.success() => String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.trim().to_owned())
            .collect(),
        _ => Vec::new(),
    };
    assert_eq!(info.machine.unwrap().gpus, listed);
}
