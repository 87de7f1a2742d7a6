//! Overriding any experiment's config at launch, without the program declaring a flag per
//! field: [`config()`] takes the defaults and merges, later winning,
//!
//! 1. a TOML (or `.json`) file named by `LABBOOK_CONFIG` or `--config FILE`,
//! 2. the overrides of `LABBOOK_SET="lr=0.01,model.depth=4"` (split on top-level commas, so
//!    `layers=[64,32]` stays whole),
//! 3. each `--set key=value` argument (also `--set=key=value`), in order.
//!
//! Keys are dotted paths into the config (`model.depth`, `layers.0` for a list's item). A
//! value is parsed by the type the defaults have at that key: a number, `true`/`false`, a
//! string (quotes optional), a list (`[64,32]`), a table (`{"depth":4}`), or, for an
//! `Option` that is `None`, whatever the text reads as. The merged config is then
//! deserialized, so an enum's variants and every other rule of the type's `Deserialize` hold.
//! Anything wrong is a [`ConfigError`] of one sentence, before any run starts: an unknown key
//! (listing the keys), a wrong type, a value outside an enum (listing the variants), text
//! that is not `key=value`, a file that does not parse.
//!
//! ```
//! use labbook::prelude::*;
//!
//! #[derive(Serialize, Deserialize)]
//! struct Hp { lr: f64, model: Model, optimizer: Optimizer, layers: Vec<u32> }
//! #[derive(Serialize, Deserialize)]
//! struct Model { depth: u32, dropout: Option<f64> }
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! #[serde(rename_all = "snake_case")]
//! enum Optimizer { Sgd, Adam }
//!
//! let defaults = Hp {
//!     lr: 0.1,
//!     model: Model { depth: 2, dropout: None },
//!     optimizer: Optimizer::Sgd,
//!     layers: vec![128],
//! };
//! // What `labbook::config(defaults)` does with `--set optimizer=adam --set layers=[64,32]`:
//! let hp = labbook::Config::new(defaults)
//!     .set_list("lr=0.01,model.dropout=0.5")
//!     .set("optimizer=adam")
//!     .set("layers=[64,32]")
//!     .load()?;
//! assert_eq!((hp.lr, hp.model.dropout, hp.optimizer), (0.01, Some(0.5), Optimizer::Adam));
//! assert_eq!(hp.layers, [64, 32]);
//! # Ok::<(), labbook::ConfigError>(())
//! ```
//!
//! The loaded config is what the program passes as its `#[config]`, so `config.json` and the
//! backends record the final values; each `#[experiment]` run the process starts afterwards
//! also records in `info.json` which keys were overridden, with what and from where
//! (`"overrides": {"lr": {"value": "0.01", "source": "LABBOOK_SET"}}`).
//!
//! With clap, parse first (the flags become the defaults, so they stay as sugar), then load;
//! declare `--set` and `--config` so that clap accepts them (labbook reads them from the
//! command line itself), and skip them in the config:
//!
//! ```
//! # use labbook::prelude::*;
//! # mod clap { pub trait Parser { fn parse() -> Self; } }
//! # use clap::Parser;
//! #[derive(Serialize, Deserialize)] // and `clap::Parser`
//! struct Hp {
//!     // #[arg(long, default_value_t = 0.1)]
//!     lr: f64,
//!     /// Overrides a config key: `--set lr=0.01` (repeatable).
//!     // #[arg(long = "set", value_name = "KEY=VALUE")]
//!     #[serde(skip)]
//!     set: Vec<String>,
//!     /// A TOML file of config keys.
//!     // #[arg(long, value_name = "FILE")]
//!     #[serde(skip)]
//!     config: Option<std::path::PathBuf>,
//! }
//! # impl Parser for Hp { fn parse() -> Self { Hp { lr: 0.1, set: vec![], config: None } } }
//! fn main() -> anyhow::Result<()> {
//!     let hp = labbook::config(Hp::parse())?;
//!     # let _ = hp;
//!     Ok(())
//! }
//! ```
//!
//! Loading goes through serde (serialize the defaults, override, deserialize), so a field the
//! config skips (`#[serde(skip)]`) comes back as its `Default`: set it again after loading.
//! A program whose own arguments use `--set` or `--config` for something else builds a
//! [`Config`] with [`Config::new`] and only the sources it wants.

mod apply;
mod error;
mod overrides;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use self::apply::{Change, Given};
pub use self::error::{ConfigError, Source};
use crate::store::meta::Override;

/// `defaults`, overridden by `LABBOOK_CONFIG`, `--config`, `LABBOOK_SET` and `--set` (see
/// the [module](self) docs): [`Config::from_env`]`(defaults).load()`.
pub fn config<T: Serialize + DeserializeOwned>(defaults: T) -> Result<T, ConfigError> {
    Config::from_env(defaults).load()
}

/// A config being assembled from its defaults and its overrides; [`Config::load`] merges them.
#[derive(Debug)]
pub struct Config<T> {
    defaults: T,
    files: Vec<Source>,
    lists: Vec<String>,
    sets: Vec<String>,
    args: Vec<OsString>,
}

impl<T: Serialize + DeserializeOwned> Config<T> {
    /// `defaults`, with no overrides yet.
    pub fn new(defaults: T) -> Config<T> {
        Config {
            defaults,
            files: Vec::new(),
            lists: Vec::new(),
            sets: Vec::new(),
            args: Vec::new(),
        }
    }

    /// `defaults` with the process's overrides: the `LABBOOK_CONFIG` and `LABBOOK_SET`
    /// variables and the command line's `--config` and `--set` arguments.
    pub fn from_env(defaults: T) -> Config<T> {
        let mut config = Config::new(defaults);
        if let Some(path) = std::env::var_os("LABBOOK_CONFIG").filter(|p| !p.is_empty()) {
            config.files.push(Source::EnvFile(PathBuf::from(path)));
        }
        if let Ok(list) = std::env::var("LABBOOK_SET") {
            config.lists.push(list);
        }
        config.args(std::env::args_os().skip(1))
    }

    /// Merges a TOML file (JSON when its name ends in `.json`), as `--config FILE` does.
    pub fn file(mut self, path: impl AsRef<Path>) -> Config<T> {
        self.files.push(Source::File(path.as_ref().to_owned()));
        self
    }

    /// Applies a comma-separated list of `key=value`, as `LABBOOK_SET` does.
    pub fn set_list(mut self, list: impl Into<String>) -> Config<T> {
        self.lists.push(list.into());
        self
    }

    /// Applies one `key=value`, as `--set key=value` does.
    pub fn set(mut self, setting: impl Into<String>) -> Config<T> {
        self.sets.push(setting.into());
        self
    }

    /// Reads the `--config FILE` and `--set key=value` arguments among `args` (without the
    /// program's name), ignoring every other argument and everything after `--`.
    pub fn args<A: Into<OsString>>(mut self, args: impl IntoIterator<Item = A>) -> Config<T> {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Merges files, then lists, then single settings, each in the order given, into the
    /// defaults, and deserializes the result; records the overridden keys for the runs the
    /// process starts afterwards.
    pub fn load(self) -> Result<T, ConfigError> {
        let defaults =
            serde_json::to_value(&self.defaults).map_err(|e| ConfigError::NotAStruct {
                reason: format!("they cannot be serialized: {e}"),
            })?;
        if !defaults.is_object() {
            return Err(ConfigError::NotAStruct {
                reason: format!("they serialize as {}", kind(&defaults)),
            });
        }
        let changes = self.changes(&defaults)?;
        let mut merged = defaults.clone();
        for change in &changes {
            apply::apply(&mut merged, change)?;
        }
        let loaded = match serde_json::from_value::<T>(merged) {
            Ok(loaded) => loaded,
            Err(_) => return Err(blame::<T>(defaults, &changes)),
        };
        let mut overridden = BTreeMap::new();
        for change in &changes {
            overridden.insert(
                change.key.clone(),
                Override {
                    value: change.text(),
                    source: change.origin.to_string(),
                },
            );
        }
        *RECORDED.lock().unwrap_or_else(|e| e.into_inner()) = overridden;
        Ok(loaded)
    }

    /// Every override, in the order it applies.
    fn changes(&self, defaults: &Value) -> Result<Vec<Change>, ConfigError> {
        let arguments = overrides::scan(self.args.iter().cloned())?;
        let mut files = self.files.clone();
        files.extend(arguments.files.into_iter().map(Source::File));
        let mut changes = Vec::new();
        for origin in &files {
            changes.extend(apply::flatten(defaults, &read_file(origin)?, origin));
        }
        let mut settings = Vec::new();
        for list in &self.lists {
            settings.extend(overrides::parse_list(list, Source::Env)?);
        }
        for setting in &self.sets {
            settings.push(overrides::parse(setting, Source::Set)?);
        }
        settings.extend(arguments.sets);
        changes.extend(settings.into_iter().map(|s| Change {
            key: s.key,
            given: Given::Text(s.text),
            origin: s.origin,
        }));
        Ok(changes)
    }
}

/// The first change after which the config no longer deserializes, with the reason.
fn blame<T: DeserializeOwned>(mut config: Value, changes: &[Change]) -> ConfigError {
    let mut last = None;
    for change in changes {
        // Each change applied before, so this cannot fail.
        let _ = apply::apply(&mut config, change);
        match serde_json::from_value::<T>(config.clone()) {
            Ok(_) => last = None,
            Err(e) => {
                last.get_or_insert((change, e.to_string()));
            }
        }
    }
    match last {
        Some((change, reason)) => apply::rejected(change, reason),
        None => ConfigError::NotAStruct {
            reason: "they do not deserialize back into their own type".to_owned(),
        },
    }
}

/// The keys the latest [`Config::load`] overrode, for the `info.json` of the runs after it.
pub(crate) fn recorded() -> BTreeMap<String, Override> {
    RECORDED.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

static RECORDED: Mutex<BTreeMap<String, Override>> = Mutex::new(BTreeMap::new());

/// A config file's contents as JSON.
fn read_file(origin: &Source) -> Result<Value, ConfigError> {
    let (Source::File(path) | Source::EnvFile(path)) = origin else {
        unreachable!("only files are read")
    };
    let failed = |reason: String| ConfigError::File {
        path: path.clone(),
        origin: origin.clone(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    let value = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str::<Value>(&text).map_err(|e| failed(e.to_string()))?
    } else {
        toml::from_str::<Value>(&text).map_err(|e| failed(e.message().to_owned()))?
    };
    if !value.is_object() {
        return Err(failed(format!(
            "it holds {}, not a table of keys",
            kind(&value)
        )));
    }
    Ok(value)
}

/// What a JSON value is, in words.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a struct",
    }
}
