//! The source tree a run started from ([`Git`] in `metadata/info.json`), read with the `git`
//! command: the commit, whether tracked files changed, the untracked files, and on rank 0 the
//! uncommitted changes saved as `code/diff.patch`, so that
//! `git checkout <commit> && git apply code/diff.patch` gives back the exact code.
//!
//! No `git` on `PATH`, or no work tree: no [`Git`], and no error. The patch is `git diff HEAD`
//! (binary-safe), so ignored files never get in; files whose names look like secrets
//! ([`SECRETS`]) are left out even when tracked, and so are files whose change would take the
//! patch over `LABBOOK_DIFF_MAX` bytes (default 1 MB). Both are listed in [`Diff::left_out`].
//! `LABBOOK_DIFF_MAX=0` saves no patch.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use crate::store::layout;
use crate::store::meta::{Diff, Git, LeftOut, LeftOutReason, CODE, DIFF_FILE};

/// The largest patch saved, unless `LABBOOK_DIFF_MAX` (bytes) says otherwise.
pub const DEFAULT_DIFF_MAX: u64 = 1_000_000;

/// Names never saved in the patch, as git pathspec globs (`**/` matches any folder, the top
/// one included).
pub const SECRETS: [&str; 16] = [
    "**/.env",
    "**/.env.*",
    "**/*.env",
    "**/*.pem",
    "**/*.key",
    "**/*.p12",
    "**/*.pfx",
    "**/*.keystore",
    "**/id_rsa*",
    "**/id_dsa*",
    "**/id_ecdsa*",
    "**/id_ed25519*",
    "**/.netrc",
    "**/.pypirc",
    "**/.npmrc",
    "**/*credentials*",
];

/// The git facts of the work tree holding `dir`, if any (the patch is not made here: see
/// [`save_diff`]).
pub(crate) fn git(dir: &Path) -> Option<Git> {
    let commit = text(run(dir, &["rev-parse", "HEAD"])?);
    let work_tree = run(dir, &["rev-parse", "--show-toplevel"]).map(text);
    let top = work_tree.as_deref().map_or(dir, Path::new);
    let dirty =
        run(top, &["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let untracked = run(
        top,
        &[
            "ls-files",
            "--others",
            "--exclude-standard",
            "--directory",
            "-z",
        ],
    )
    .map(paths)
    .unwrap_or_default();
    Some(Git {
        commit,
        dirty,
        work_tree,
        untracked,
        diff: None,
    })
}

/// Saves the uncommitted changes of `git`'s work tree as `code/diff.patch` in the run
/// directory `run_dir`, when there are any; says what was saved.
pub(crate) fn save_diff(git: &Git, run_dir: &Path) -> Option<Diff> {
    if !git.dirty {
        return None;
    }
    let top = Path::new(git.work_tree.as_deref()?);
    let max = diff_max();
    if max == 0 {
        return None;
    }
    let changed = |excludes: &[OsString]| {
        let mut args: Vec<OsString> = [
            "diff",
            "HEAD",
            "--no-renames",
            "--name-only",
            "-z",
            "--",
            ".",
        ]
        .map(OsString::from)
        .to_vec();
        args.extend_from_slice(excludes);
        run_os(top, &args).map(paths)
    };
    let mut excludes: Vec<OsString> = SECRETS
        .iter()
        .map(|glob| format!(":(exclude,glob){glob}").into())
        .collect();
    let all = changed(&[])?;
    let kept: BTreeSet<String> = changed(&excludes)?.into_iter().collect();
    let mut left_out: Vec<LeftOut> = all
        .iter()
        .filter(|path| !kept.contains(*path))
        .map(|path| LeftOut {
            path: path.clone(),
            reason: LeftOutReason::Secret,
            bytes: None,
        })
        .collect();
    // A file larger than the whole allowance cannot fit: leave it out before git reads it.
    for path in &kept {
        let size = std::fs::metadata(top.join(path)).map_or(0, |m| m.len());
        if size > max {
            excludes.push(format!(":(exclude,literal){path}").into());
            left_out.push(too_large(path, size));
        }
    }
    let mut args: Vec<OsString> = [
        "diff",
        "HEAD",
        "--binary",
        "--no-renames",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        "--",
        ".",
    ]
    .map(OsString::from)
    .to_vec();
    args.extend_from_slice(&excludes);
    let patch = run_os(top, &args)?;
    let names = changed(&excludes)?;
    let mut saved = Vec::with_capacity(patch.len().min(max as usize));
    let files = split_files(&patch);
    if files.len() == names.len() {
        for (name, file) in names.iter().zip(files) {
            if (saved.len() + file.len()) as u64 > max {
                left_out.push(too_large(name, file.len() as u64));
            } else {
                saved.extend_from_slice(file);
            }
        }
    } else if patch.len() as u64 <= max {
        saved = patch;
    } else {
        left_out.extend(names.iter().map(|name| too_large(name, 0)));
    }
    left_out.sort_by(|a, b| a.path.cmp(&b.path));
    let folder = run_dir.join(CODE);
    let file = folder.join(DIFF_FILE);
    let written =
        std::fs::create_dir_all(&folder).and_then(|()| layout::write_durably(&file, &saved));
    if let Err(e) = written {
        tracing::warn!(
            "labbook cannot save the uncommitted changes to {}: {e}",
            file.display()
        );
        return None;
    }
    Some(Diff {
        file: format!("{CODE}/{DIFF_FILE}"),
        bytes: saved.len() as u64,
        left_out,
    })
}

fn too_large(path: &str, bytes: u64) -> LeftOut {
    LeftOut {
        path: path.to_owned(),
        reason: LeftOutReason::TooLarge,
        bytes: (bytes > 0).then_some(bytes),
    }
}

/// `LABBOOK_DIFF_MAX` in bytes (0: no patch), or [`DEFAULT_DIFF_MAX`].
fn diff_max() -> u64 {
    match std::env::var("LABBOOK_DIFF_MAX") {
        Ok(value) => value.trim().parse().unwrap_or_else(|_| {
            tracing::warn!(
                "LABBOOK_DIFF_MAX is `{value}`, not a number of bytes; saving up to {DEFAULT_DIFF_MAX} bytes of uncommitted changes"
            );
            DEFAULT_DIFF_MAX
        }),
        Err(_) => DEFAULT_DIFF_MAX,
    }
}

/// A whole patch cut into one part per file: each starts at a `diff --git ` line (which no
/// line of a hunk or of git's base-85 binary data can begin with).
fn split_files(patch: &[u8]) -> Vec<&[u8]> {
    const HEADER: &[u8] = b"diff --git ";
    let mut starts: Vec<usize> = (0..patch.len())
        .filter(|&i| (i == 0 || patch[i - 1] == b'\n') && patch[i..].starts_with(HEADER))
        .collect();
    starts.push(patch.len());
    starts.windows(2).map(|w| &patch[w[0]..w[1]]).collect()
}

/// `git -C dir <args>`'s output, when git is there and succeeds.
fn run(dir: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    run_os(dir, &args)
}

fn run_os(dir: &Path, args: &[OsString]) -> Option<Vec<u8>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout)
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).trim().to_owned()
}

/// NUL-separated paths (`-z`).
fn paths(bytes: Vec<u8>) -> Vec<String> {
    bytes
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_splits_at_each_file_header_only() {
        let patch =
            b"diff --git a/x b/x\n+diff --git a/y b/y\n diff --git no\ndiff --git a/z b/z\n-1\n";
        let files = split_files(patch);
        assert_eq!(files.len(), 2);
        assert!(files[1].starts_with(b"diff --git a/z"));
        assert_eq!(files.concat(), patch);
        assert!(split_files(b"").is_empty());
    }
}
