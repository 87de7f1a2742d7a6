//! Setting one dotted key of a config held as JSON: the key must exist in the defaults, and a
//! text value is parsed by the JSON type the defaults have there (number, bool, string, list,
//! table, or `null` for an `Option` that is `None`).

use serde_json::{Map, Value};

use super::error::{ConfigError, Source};
use super::overrides::split_top_level;

/// A value for a key: text from `--set` or `LABBOOK_SET`, or a typed value from a file.
#[derive(Clone, Debug)]
pub(super) enum Given {
    Text(String),
    Json(Value),
}

/// One override, ready to apply.
#[derive(Clone, Debug)]
pub(super) struct Change {
    pub key: String,
    pub given: Given,
    pub origin: Source,
}

impl Change {
    /// The value as the user wrote it (a file's value as JSON, a string bare).
    pub fn text(&self) -> String {
        match &self.given {
            Given::Text(text) => text.clone(),
            Given::Json(Value::String(text)) => text.clone(),
            Given::Json(value) => value.to_string(),
        }
    }
}

/// Sets `change.key` in `config`.
pub(super) fn apply(config: &mut Value, change: &Change) -> Result<(), ConfigError> {
    let unknown = |config: &Value| ConfigError::UnknownKey {
        key: change.key.clone(),
        origin: change.origin.clone(),
        valid: keys(config),
    };
    let mut path = Vec::new();
    let mut at = &*config;
    for part in change.key.split('.') {
        at = match at {
            Value::Object(map) => map.get(part),
            Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
        .ok_or_else(|| unknown(config))?;
        path.push(part);
    }
    let value = match &change.given {
        Given::Json(value) => value.clone(),
        Given::Text(text) => parse_as(at, text).map_err(|expected| ConfigError::WrongType {
            key: change.key.clone(),
            expected,
            given: text.clone(),
            origin: change.origin.clone(),
        })?,
    };
    let mut slot = config;
    for part in path {
        slot = match slot {
            Value::Object(map) => &mut map[part],
            Value::Array(items) => &mut items[part.parse::<usize>().unwrap_or_default()],
            _ => unreachable!("the path was walked above"),
        };
    }
    *slot = value;
    Ok(())
}

/// `text` as a value of the type `template` has; else what was expected, in words.
fn parse_as(template: &Value, text: &str) -> Result<Value, &'static str> {
    match template {
        Value::Bool(_) => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("`true` or `false`"),
        },
        Value::Number(n) if n.is_f64() => text
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Value::from)
            .ok_or("a number"),
        Value::Number(_) => text
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| text.parse::<u64>().map(Value::from))
            .map_err(|_| "an integer"),
        Value::String(_) => Ok(match serde_json::from_str::<Value>(text) {
            Ok(value @ Value::String(_)) if text.starts_with('"') => value,
            // An enum's variant with fields where the default is a unit variant.
            Ok(value @ Value::Object(_)) => value,
            _ => Value::String(text.to_owned()),
        }),
        Value::Array(items) => {
            let element = items.first().unwrap_or(&Value::Null);
            list(element, text).ok_or("a list such as `[1,2]`")
        }
        Value::Object(_) => Ok(match serde_json::from_str::<Value>(text) {
            Ok(value @ Value::Object(_)) => value,
            // An enum's unit variant where the default is a variant with fields.
            _ => Value::String(text.to_owned()),
        }),
        Value::Null => Ok(guess(text)),
    }
}

/// `[a, b]` as a list: JSON, or items parsed one by one like `element` (so `[a,b]` is a list
/// of strings when the default's items are strings).
fn list(element: &Value, text: &str) -> Option<Value> {
    if let Ok(value @ Value::Array(_)) = serde_json::from_str::<Value>(text) {
        return Some(value);
    }
    let inner = text.strip_prefix('[')?.strip_suffix(']')?.trim();
    if inner.is_empty() {
        return Some(Value::Array(Vec::new()));
    }
    split_top_level(inner)
        .into_iter()
        .map(|item| parse_as(element, item.trim()).ok())
        .collect::<Option<Vec<_>>>()
        .map(Value::Array)
}

/// A value for a key whose default is `null` (an `Option` that is `None`): JSON when it
/// parses as JSON, else the text as a string. The config type's `Deserialize` decides.
fn guess(text: &str) -> Value {
    serde_json::from_str(text)
        .ok()
        .or_else(|| list(&Value::Null, text))
        .unwrap_or_else(|| Value::String(text.to_owned()))
}

/// Every key of `config`, dotted, sorted: a table's keys descend, anything else is a key.
pub(super) fn keys(config: &Value) -> Vec<String> {
    fn walk(prefix: &str, map: &Map<String, Value>, out: &mut Vec<String>) {
        for (key, value) in map {
            let dotted = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                Value::Object(inner) if !inner.is_empty() => walk(&dotted, inner, out),
                _ => out.push(dotted),
            }
        }
    }
    let mut out = Vec::new();
    if let Value::Object(map) = config {
        walk("", map, &mut out);
    }
    out.sort();
    out
}

/// A config file's table as one change per key: a table descends where the defaults have a
/// table too; anything else replaces the key whole.
pub(super) fn flatten(defaults: &Value, file: &Value, origin: &Source) -> Vec<Change> {
    fn walk(
        prefix: &str,
        defaults: Option<&Value>,
        file: &Map<String, Value>,
        origin: &Source,
        out: &mut Vec<Change>,
    ) {
        for (key, value) in file {
            let dotted = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            let default = defaults.and_then(|d| d.get(key));
            match (value, default) {
                (Value::Object(inner), Some(Value::Object(_))) => {
                    walk(&dotted, default, inner, origin, out)
                }
                _ => out.push(Change {
                    key: dotted,
                    given: Given::Json(value.clone()),
                    origin: origin.clone(),
                }),
            }
        }
    }
    let mut out = Vec::new();
    if let Value::Object(map) = file {
        walk("", Some(defaults), map, origin, &mut out);
    }
    out
}

/// The config type's refusal of `change`, as the error to show.
pub(super) fn rejected(change: &Change, reason: String) -> ConfigError {
    if let Some(expected) = reason
        .strip_prefix("unknown variant ")
        .and_then(|rest| rest.split_once("expected").map(|(_, e)| e))
    {
        return ConfigError::UnknownVariant {
            key: change.key.clone(),
            given: change.text(),
            origin: change.origin.clone(),
            variants: expected
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect(),
        };
    }
    ConfigError::Rejected {
        key: change.key.clone(),
        given: change.text(),
        origin: change.origin.clone(),
        reason,
    }
}
