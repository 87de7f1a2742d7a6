//! The offline-run folder as wandb lays it out, inside the labbook run directory:
//!
//! ```text
//! runs/<experiment>/<id>/wandb/
//!     latest-run -> offline-run-<YYYYMMDD_HHMMSS>-<wandb id>
//!     offline-run-<YYYYMMDD_HHMMSS>-<wandb id>/
//!         run-<wandb id>.wandb            the record log `wandb sync` uploads
//!         files/media/images/<name>_<step>_<sha256 prefix>.png
//!     labbook-wandb.json                  the W&B id and next `_step`, for resumed runs
//! ```
//!
//! The timestamp is the run start in local time, as wandb names its folders; the W&B id is
//! 8 random characters from `[a-z0-9]`.

use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The folder under the run directory.
pub const FOLDER: &str = "wandb";
const STATE_FILE: &str = "labbook-wandb.json";

/// A fresh W&B run id: 8 characters from `[a-z0-9]`.
pub fn new_id() -> String {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    let mut bits = hasher.finish();
    (0..8)
        .map(|_| {
            let c = ALPHABET[(bits % 36) as usize] as char;
            bits /= 36;
            c
        })
        .collect()
}

/// `offline-run-<YYYYMMDD_HHMMSS>-<id>`, the time in the local time zone.
pub fn run_folder(start: f64, id: &str) -> String {
    use chrono::TimeZone;
    let local = chrono::Local
        .timestamp_opt(start.floor() as i64, 0)
        .single()
        .unwrap_or_else(chrono::Local::now);
    format!("offline-run-{}-{id}", local.format("%Y%m%d_%H%M%S"))
}

/// Points `wandb/latest-run` at `folder`, as wandb does (Unix only; nothing needs it).
pub fn link_latest(wandb_dir: &Path, folder: &str) {
    #[cfg(unix)]
    {
        let link = wandb_dir.join("latest-run");
        let _ = fs::remove_file(&link);
        let _ = std::os::unix::fs::symlink(folder, link);
    }
    #[cfg(not(unix))]
    let _ = (wandb_dir, folder);
}

/// What a resumed labbook run needs to continue the same W&B run.
#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    pub run_id: String,
    /// The `_step` of the next history row.
    pub next_step: i64,
}

impl State {
    pub fn read(wandb_dir: &Path) -> Option<State> {
        let text = fs::read_to_string(wandb_dir.join(STATE_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn write(&self, wandb_dir: &Path) -> crate::error::Result<()> {
        crate::store::layout::write_json(&wandb_dir.join(STATE_FILE), self)
    }
}

/// A media file written under `files/`, as history values refer to it.
#[derive(Debug)]
pub struct Media {
    /// Relative to `files/`, with `/` separators.
    pub path: String,
    pub sha256: String,
    pub size: usize,
}

/// Writes a PNG where wandb puts a logged image: `media/images/<name>_<step>_<hash>.png`.
pub fn write_image(
    files_dir: &Path,
    name: &str,
    step: u64,
    png: &[u8],
) -> Result<Media, crate::backend::BackendError> {
    let sha256: String = Sha256::digest(png)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = format!("media/images/{name}_{step}_{}.png", &sha256[..20]);
    let file: PathBuf = files_dir.join(&path);
    let written = match file.parent() {
        Some(parent) => fs::create_dir_all(parent).and_then(|()| fs::write(&file, png)),
        None => fs::write(&file, png),
    };
    written.map_err(|e| {
        crate::backend::BackendError::new(format_args!("cannot write {}: {e}", file.display()))
    })?;
    Ok(Media {
        path,
        sha256,
        size: png.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_eight_lowercase_alphanumerics_and_differ() {
        let (a, b) = (new_id(), new_id());
        for id in [&a, &b] {
            assert_eq!(id.len(), 8);
            assert!(id
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        }
        assert_ne!(a, b);
    }

    #[test]
    fn folder_names_follow_wandb() {
        let name = run_folder(1_795_403_997.5, "abc12345");
        let stamp = name
            .strip_prefix("offline-run-")
            .and_then(|rest| rest.strip_suffix("-abc12345"))
            .unwrap();
        assert_eq!(stamp.len(), 15, "{name}");
        assert_eq!(&stamp[8..9], "_");
        assert!(stamp
            .bytes()
            .filter(|c| *c != b'_')
            .all(|c| c.is_ascii_digit()));
    }
}
