//! Reading overrides as users write them: `key=value` texts, `LABBOOK_SET`'s comma-separated
//! list (split on top-level commas only, so `layers=[64,32]` stays whole), and the `--set` and
//! `--config` arguments of a command line.

use std::ffi::OsString;
use std::path::PathBuf;

use super::error::{ConfigError, Source};

/// One `key=value` override, the value still text.
#[derive(Clone, Debug)]
pub(super) struct Setting {
    pub key: String,
    pub text: String,
    pub origin: Source,
}

/// Splits `key=value` at its first `=`; the key is trimmed and must not be empty.
pub(super) fn parse(text: &str, origin: Source) -> Result<Setting, ConfigError> {
    let malformed = || ConfigError::Malformed {
        text: text.to_owned(),
        origin: origin.clone(),
    };
    let (key, value) = text.split_once('=').ok_or_else(malformed)?;
    let key = key.trim();
    let valid_key = !key.is_empty()
        && key
            .split('.')
            .all(|part| !part.is_empty() && !part.contains(char::is_whitespace));
    if !valid_key {
        return Err(malformed());
    }
    Ok(Setting {
        key: key.to_owned(),
        text: value.trim().to_owned(),
        origin,
    })
}

/// The overrides of a `LABBOOK_SET`-style list: `lr=0.01,model.depth=4,layers=[64,32]`.
/// Commas inside brackets, braces or double quotes do not split; empty items are skipped.
pub(super) fn parse_list(list: &str, origin: Source) -> Result<Vec<Setting>, ConfigError> {
    split_top_level(list)
        .into_iter()
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| parse(item, origin.clone()))
        .collect()
}

/// `text` cut at the commas that are outside `[]`, `{}` and `"…"`.
pub(super) fn split_top_level(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut quoted, mut escaped, mut start) =
        (Vec::new(), 0i32, false, false, 0);
    for (i, c) in text.char_indices() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '[' | '{' => depth += 1,
            ']' | '}' => depth -= 1,
            ',' if depth <= 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// What a command line asks of the config: its `--config FILE` and `--set key=value`
/// arguments (also spelled `--config=FILE` and `--set=key=value`), in order. Every other
/// argument is left alone; scanning stops at `--`.
#[derive(Debug, Default)]
pub(super) struct Arguments {
    pub files: Vec<PathBuf>,
    pub sets: Vec<Setting>,
}

pub(super) fn scan(args: impl IntoIterator<Item = OsString>) -> Result<Arguments, ConfigError> {
    let mut found = Arguments::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let Some(arg) = arg.to_str() else { continue };
        if arg == "--" {
            break;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg, None),
        };
        if flag != "--set" && flag != "--config" {
            continue;
        }
        let value = match inline {
            Some(value) => value,
            None => args
                .next()
                .map(|v| v.to_string_lossy().into_owned())
                .ok_or_else(|| ConfigError::Malformed {
                    text: flag.to_owned(),
                    origin: Source::Set,
                })?,
        };
        if flag == "--set" {
            found.sets.push(parse(&value, Source::Set)?);
        } else {
            found.files.push(PathBuf::from(value));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_on_top_level_commas_only() {
        assert_eq!(
            split_top_level(r#"lr=0.01,layers=[64,32],name="a,b",m={"x":1,"y":2}"#),
            [
                "lr=0.01",
                "layers=[64,32]",
                r#"name="a,b""#,
                r#"m={"x":1,"y":2}"#
            ]
        );
        let list = parse_list(" lr=0.01 , model.depth=4,,", Source::Env).unwrap();
        let pairs: Vec<_> = list.iter().map(|s| (&*s.key, &*s.text)).collect();
        assert_eq!(pairs, [("lr", "0.01"), ("model.depth", "4")]);
    }

    #[test]
    fn values_keep_their_equals_signs() {
        let setting = parse("expr=a=b", Source::Set).unwrap();
        assert_eq!((&*setting.key, &*setting.text), ("expr", "a=b"));
    }

    #[test]
    fn keys_must_be_dotted_names() {
        for bad in ["lr", "=1", "a..b=1", ".a=1", "a b=1"] {
            assert!(parse(bad, Source::Set).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_command_line_gives_files_and_sets_in_order_and_nothing_else() {
        let args = [
            "prog",
            "--epochs",
            "3",
            "--set",
            "lr=0.1",
            "--config=hp.toml",
            "--set=a.b=[1,2]",
            "--",
            "--set",
            "x=1",
        ];
        let found = scan(args.iter().map(OsString::from)).unwrap();
        assert_eq!(found.files, [PathBuf::from("hp.toml")]);
        let pairs: Vec<_> = found.sets.iter().map(|s| (&*s.key, &*s.text)).collect();
        assert_eq!(pairs, [("lr", "0.1"), ("a.b", "[1,2]")]);
        assert!(scan(["prog", "--set"].iter().map(OsString::from)).is_err());
    }
}
