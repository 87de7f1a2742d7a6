//! What can be wrong with a config override, one sentence each, said before any run starts.

use std::fmt;
use std::path::PathBuf;

/// Where an override came from, as `info.json` records it (`overrides.<key>.source`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A `--set key=value` argument (or [`Config::set`](super::Config::set)).
    Set,
    /// The `LABBOOK_SET` variable (or [`Config::set_list`](super::Config::set_list)).
    Env,
    /// A `--config FILE` argument (or [`Config::file`](super::Config::file)).
    File(PathBuf),
    /// The `LABBOOK_CONFIG` variable.
    EnvFile(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Set => f.write_str("--set"),
            Source::Env => f.write_str("LABBOOK_SET"),
            Source::File(path) => write!(f, "--config {}", path.display()),
            Source::EnvFile(path) => write!(f, "LABBOOK_CONFIG {}", path.display()),
        }
    }
}

/// Why a config could not be loaded. Each is one sentence naming the key, what was given and
/// where it came from.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An override that is not `key=value`.
    #[error("`{text}` (given by {origin}) is not an override: write it as key=value, e.g. `lr=0.01` or `model.depth=4`")]
    Malformed {
        /// The text as given.
        text: String,
        /// Where it came from.
        origin: Source,
    },
    /// A key the config does not have.
    #[error(
        "the config has no key `{key}` (given by {origin}); its keys are {}",
        backticked(valid)
    )]
    UnknownKey {
        /// The dotted key as given.
        key: String,
        /// Where it came from.
        origin: Source,
        /// Every key the config has, dotted.
        valid: Vec<String>,
    },
    /// A value that does not parse as the key's type.
    #[error("config key `{key}` expects {expected}, not `{given}` (given by {origin})")]
    WrongType {
        /// The dotted key.
        key: String,
        /// The type expected, in words: `an integer`, `true or false`, ….
        expected: &'static str,
        /// The text as given.
        given: String,
        /// Where it came from.
        origin: Source,
    },
    /// A value that is none of an enum's variants.
    #[error(
        "config key `{key}` cannot be `{given}` (given by {origin}): it is one of {}",
        backticked(variants)
    )]
    UnknownVariant {
        /// The dotted key.
        key: String,
        /// The text as given.
        given: String,
        /// Where it came from.
        origin: Source,
        /// The variants the enum has.
        variants: Vec<String>,
    },
    /// A value the config type refused for another reason (its `Deserialize` said why).
    #[error("config key `{key}` cannot be `{given}` (given by {origin}): {reason}")]
    Rejected {
        /// The dotted key.
        key: String,
        /// The text as given.
        given: String,
        /// Where it came from.
        origin: Source,
        /// What the config type's `Deserialize` said.
        reason: String,
    },
    /// A config file that cannot be read or parsed.
    #[error("cannot load the config file {} (given by {origin}): {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Where it was named.
        origin: Source,
        /// Why.
        reason: String,
    },
    /// Defaults that do not serialize as a struct, so have no keys to override.
    #[error("the config's defaults must serialize as a struct (a map of keys) to take overrides, but {reason}")]
    NotAStruct {
        /// What they serialize as, or why they do not.
        reason: String,
    },
}

/// `a`, `b` and `c` as `` `a`, `b`, `c` ``.
fn backticked(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
