//! How the program was built ([`Build`] in `metadata/info.json`): the compiler and target
//! `build.rs` recorded when labbook was compiled (one `cargo build` uses one compiler for
//! every crate, the user's included), the profile, and the hash of `Cargo.lock`.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::spec::Program;
use crate::store::meta::{Build, Package};

/// The compiler that built this program, as `rustc -V` names itself.
pub const RUSTC_VERSION: &str = env!("LABBOOK_RUSTC_VERSION");
/// The target triple this program was built for.
pub const TARGET: &str = env!("LABBOOK_TARGET");

/// What is known of how `program` was built.
pub(crate) fn build(program: &Program) -> Build {
    Build {
        rustc: RUSTC_VERSION.to_owned(),
        target: TARGET.to_owned(),
        profile: if program.release { "release" } else { "debug" }.to_owned(),
        cargo_lock_sha256: program
            .manifest_dir
            .and_then(|dir| cargo_lock(Path::new(dir))),
        program: match (program.name, program.version) {
            (Some(name), Some(version)) => Some(Package {
                name: name.to_owned(),
                version: version.to_owned(),
            }),
            _ => None,
        },
    }
}

/// SHA-256, in lowercase hex, of the first `Cargo.lock` in `manifest_dir` or a folder above
/// it (a workspace keeps one at its root).
fn cargo_lock(manifest_dir: &Path) -> Option<String> {
    manifest_dir.ancestors().find_map(|dir| {
        let bytes = std::fs::read(dir.join("Cargo.lock")).ok()?;
        Some(format!("{:x}", Sha256::digest(&bytes)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_is_found_in_a_folder_above_the_manifest() {
        let root = tempfile::tempdir().unwrap();
        let crate_dir = root.path().join("crates/app");
        std::fs::create_dir_all(&crate_dir).unwrap();
        std::fs::write(root.path().join("Cargo.lock"), b"abc").unwrap();
        assert_eq!(
            cargo_lock(&crate_dir).as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
    }

    #[test]
    fn the_build_names_the_compiler_the_target_and_the_profile() {
        let build = build(&Program {
            name: Some("app"),
            version: Some("1.2.3"),
            manifest_dir: None,
            release: true,
        });
        assert!(build.rustc.starts_with("rustc 1."), "{}", build.rustc);
        assert!(build.target.contains('-'), "{}", build.target);
        assert_eq!(build.profile, "release");
        assert_eq!(build.cargo_lock_sha256, None);
        assert_eq!(build.program.unwrap().version, "1.2.3");
    }
}
