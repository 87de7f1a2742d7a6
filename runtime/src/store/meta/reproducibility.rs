//! What `metadata/info.json` records to rebuild a run: how the program was built
//! ([`Build`]), the machine it ran on ([`Machine`]), and the uncommitted changes of its git
//! work tree saved as `code/diff.patch` ([`Diff`]).

use serde::{Deserialize, Serialize};

/// The folder of the run directory that holds the saved code.
pub const CODE: &str = "code";
/// The patch of the uncommitted changes, in [`CODE`]: `git apply` it onto the commit.
pub const DIFF_FILE: &str = "diff.patch";

/// How the program that made the run was built.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    /// The compiler, as `rustc -V` names itself: `rustc 1.95.0 (… 2026-04-14)`.
    pub rustc: String,
    /// The target triple: `x86_64-unknown-linux-gnu`.
    pub target: String,
    /// `release` (built without debug assertions) or `debug`.
    pub profile: String,
    /// SHA-256 of the `Cargo.lock` beside the program's manifest or in a folder above it (the
    /// workspace's), in lowercase hex; absent when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cargo_lock_sha256: Option<String>,
    /// The crate the `#[experiment]` function is compiled into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<Package>,
}

/// A crate's name and version, from its `Cargo.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// The crate's name.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The machine a rank ran on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// Logical CPUs of the machine.
    pub cpus: usize,
    /// The CPUs this process may use (fewer under an affinity mask or a container's quota).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_available: Option<usize>,
    /// The CPU's model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Total memory, in bytes.
    pub memory_bytes: u64,
    /// The name of each visible GPU (feature `nvml`), in device order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<String>,
}

/// The uncommitted changes to tracked files, saved as a patch in the run directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// The patch's path in the run directory: `code/diff.patch`.
    pub file: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Changed files left out of the patch, and why: restoring gives them as committed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<LeftOut>,
}

/// A changed file that is not in the patch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOut {
    /// Its path from the top of the work tree.
    pub path: String,
    /// Why it was left out.
    pub reason: LeftOutReason,
    /// Its size, when it was too large.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

/// Why a changed file is not in the patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftOutReason {
    /// Its change would take the patch over `LABBOOK_DIFF_MAX` bytes (default 1 MB).
    TooLarge,
    /// Its name looks like a secret's (`.env`, `*.pem`, `id_rsa`, …).
    Secret,
}

impl LeftOutReason {
    /// In words, for `labbook show`.
    pub fn as_str(self) -> &'static str {
        match self {
            LeftOutReason::TooLarge => "too large",
            LeftOutReason::Secret => "looks like a secret",
        }
    }
}
