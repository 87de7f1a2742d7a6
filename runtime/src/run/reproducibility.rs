//! Everything `metadata/info.json` needs to rebuild a run, added to the [`Info`] gathered at
//! its start: how the program was built ([`program`](super::program)), the machine
//! ([`machine`](super::machine)), the `#[config]`'s seed, and on rank 0 the uncommitted
//! changes as `code/diff.patch` ([`code`](super::code)).

use std::path::Path;

use super::spec::Program;
use super::{code, machine, program};
use crate::store::meta::Info;

/// Fills in the build, the machine and the seed, and saves the patch on rank 0.
pub(crate) fn record(
    info: &mut Info,
    program: &Program,
    config: Option<&serde_json::Value>,
    run_dir: &Path,
) {
    info.build = Some(program::build(program));
    info.machine = machine::machine();
    info.seed = config.and_then(seed);
    if info.rank == 0 {
        if let Some(git) = &mut info.git {
            git.diff = code::save_diff(git, run_dir);
        }
    }
}

/// The top-level `seed` field of a `#[config]`, when it is a number or a text.
fn seed(config: &serde_json::Value) -> Option<serde_json::Value> {
    config
        .get("seed")
        .filter(|seed| seed.is_number() || seed.is_string())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_seed_is_the_configs_top_level_field() {
        assert_eq!(seed(&json!({"lr": 0.1, "seed": 42})), Some(json!(42)));
        assert_eq!(seed(&json!({"seed": "abc"})), Some(json!("abc")));
        assert_eq!(seed(&json!({"model": {"seed": 1}})), None);
        assert_eq!(seed(&json!({"seed": null})), None);
        assert_eq!(seed(&json!([1, 2])), None);
    }
}
