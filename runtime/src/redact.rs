//! Credentials never leave the process: the one place that decides what looks like a secret
//! and replaces it by `<redacted>`, for the command line in `metadata/info.json` (and so the
//! MLflow tags, W&B and PROV records made from it), the `#[config]` argument before it is
//! written or handed to any backend, and `param` sites.
//!
//! **The rule.** A name (an option, a config key, a header, a param site) is split into
//! words at `_`, `-`, `.`, `/`, spaces and camelCase humps (`apiKey` → `api`, `key`;
//! `WANDB_API_KEY` → `wandb`, `api`, `key`). It looks secret when one of its words is one of
//! [`SECRET_WORDS`], or a word ends in `password`, `passwd`, `secret` or `token`
//! (`authtoken`, `dbpassword`). Whole words only, so `max_tokens`, `tokenizer`, `keyboard`,
//! `num_keys` and `author` stay visible.
//!
//! - Command line: the value of a secret option (`--api-key=x`, `--token x`, also when the
//!   value starts with `-`), of `-p`, and of `KEY=value` words; the password of `--user`/`-u
//!   user:password`; the value of a secret header (`-H "Authorization: Bearer x"`); the user
//!   and password of a URL (`https://user:pa/ss@host`), anywhere in an argument.
//! - Config and params: a secret-named key whose value holds text (a string, or a list or
//!   object with a string in it) is replaced whole; numbers, booleans and `null` stay (a
//!   count or a size is not a credential), so `token_budget: 1000` is kept. URL passwords in
//!   any string are removed. `#[config(public = ["eos_token"])]` keeps a field as it is.

use std::ffi::OsString;

use serde_json::Value;

/// What replaces a secret.
pub const REDACTED: &str = "<redacted>";

/// Words that mark a name as a credential (compared whole, lowercase).
pub const SECRET_WORDS: [&str; 19] = [
    "token",
    "key",
    "apikey",
    "privkey",
    "password",
    "passwords",
    "passwd",
    "pass",
    "passphrase",
    "pwd",
    "pw",
    "secret",
    "secrets",
    "auth",
    "authorization",
    "credential",
    "credentials",
    "cookie",
    "bearer",
];

/// Endings that mark a run-together word as a credential (`apitoken`, `dbpassword`).
const SECRET_ENDINGS: [&str; 4] = ["password", "passwd", "secret", "token"];

/// Whether `name` looks like the name of a credential (see the module docs for the rule).
pub fn is_secret_name(name: &str) -> bool {
    words(name).iter().any(|word| {
        SECRET_WORDS.contains(&word.as_str()) || SECRET_ENDINGS.iter().any(|e| word.ends_with(e))
    })
}

/// The lowercase words of `name`: split at non-alphanumeric characters and camelCase humps.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in name.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut word = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let previous = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let hump = c.is_uppercase()
                && previous.is_some_and(|p| {
                    p.is_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
                });
            if hump && !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            word.extend(c.to_lowercase());
        }
        if !word.is_empty() {
            words.push(word);
        }
    }
    words
}

/// The process's command line (`std::env::args_os()`), each argument decoded lossily (an
/// argument that is not UTF-8 gets `U+FFFD` for its bad bytes) and then redacted.
pub fn command_line(args: impl IntoIterator<Item = OsString>) -> Vec<String> {
    arguments(
        args.into_iter()
            .map(|arg| arg.to_string_lossy().into_owned()),
    )
}

/// What the argument after an option is.
#[derive(Clone, Copy, PartialEq)]
enum Pending {
    Nothing,
    /// The value of a secret option.
    Secret,
    /// `user[:password]` after `--user`/`-u`.
    UserPassword,
}

/// A command line with its credentials replaced (see the module docs).
pub fn arguments(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = Pending::Nothing;
    for arg in args {
        match std::mem::replace(&mut pending, Pending::Nothing) {
            // A value may start with `-`; only a long option (or `--`) ends the wait.
            Pending::Secret if !arg.starts_with("--") => {
                out.push(REDACTED.to_owned());
                continue;
            }
            Pending::UserPassword if !arg.starts_with('-') => {
                out.push(user_password(&arg));
                continue;
            }
            _ => {}
        }
        if let Some(option) = arg.strip_prefix('-').filter(|o| !o.is_empty()) {
            let option_name = option.trim_start_matches('-');
            if let Some((key, value)) = arg.split_once('=') {
                let name = key.trim_start_matches('-');
                let value = if is_secret_name(name) {
                    REDACTED.to_owned()
                } else if is_user_option(name) {
                    user_password(value)
                } else {
                    text(value)
                };
                out.push(format!("{key}={value}"));
                continue;
            }
            if arg == "-p" || is_secret_name(option_name) {
                pending = Pending::Secret;
            } else if is_user_option(option_name) {
                pending = Pending::UserPassword;
            }
            out.push(arg);
        } else if let Some((key, _)) = arg.split_once('=').filter(|(k, _)| is_assignment(k)) {
            out.push(format!("{key}={REDACTED}"));
        } else {
            out.push(text(&arg));
        }
    }
    out
}

/// `KEY=value` with a secret key, as in `WANDB_API_KEY=x` or `password=x`.
fn is_assignment(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && is_secret_name(key)
}

fn is_user_option(name: &str) -> bool {
    matches!(name, "user" | "u" | "proxy-user")
}

/// `bob:pw` → `bob:<redacted>`; a plain user name stays.
fn user_password(value: &str) -> String {
    match value.split_once(':') {
        Some((user, _)) => format!("{user}:{REDACTED}"),
        None => text(value),
    }
}

/// Free text with its secrets removed: the value of a secret header (`Authorization: x`)
/// and the user information of every URL in it.
pub fn text(value: &str) -> String {
    if let Some((name, _)) = value.split_once(':') {
        let is_header = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
        if is_header && is_secret_name(name) {
            return format!("{name}: {REDACTED}");
        }
    }
    urls(value)
}

/// `scheme://user:pass@host/…` → `scheme://<redacted>@host/…`, for every URL in `value`,
/// also when the password holds `/` or `@`.
fn urls(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("://") {
        let (head, tail) = rest.split_at(start + 3);
        out.push_str(head);
        match user_info_end(tail) {
            Some(at) => {
                out.push_str(REDACTED);
                rest = &tail[at..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// Where the user information of the URL that `rest` (the part after `://`) starts with
/// ends: the index of its `@`, or `None` when it has none.
fn user_info_end(rest: &str) -> Option<usize> {
    let end_of = |s: &str| s.find(['/', '?', '#', ' ']).unwrap_or(s.len());
    let authority = end_of(rest);
    if let Some(at) = rest[..authority].rfind('@') {
        return Some(at);
    }
    // No `@` before the first `/`: still user information when `user:` is followed by a
    // password holding `/` (not a port) and an `@` comes later.
    let colon = rest[..authority].find(':')?;
    let after = &rest[colon + 1..authority];
    if after.is_empty() || after.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let first_at = authority + rest[authority..].find('@')?;
    if rest[authority..first_at].contains(' ') {
        return None;
    }
    let host_end = first_at + 1 + end_of(&rest[first_at + 1..]);
    Some(first_at + rest[first_at..host_end].rfind('@').unwrap_or(0))
}

/// Redacts a `#[config]` value in place: every secret-named key holding text, at any depth,
/// unless `public` names it (by key, `eos_token`, or dotted path, `tokenizer.eos_token`),
/// and URL passwords in every string.
pub fn config(value: &mut Value, public: &[&str]) {
    walk(value, "", public);
}

/// A `param` site's value, redacted whole when the site's name looks secret.
pub fn param(name: &str, mut value: Value) -> Value {
    if is_secret_name(name) && holds_text(&value) {
        return Value::String(REDACTED.to_owned());
    }
    walk(&mut value, "", &[]);
    value
}

fn walk(value: &mut Value, path: &str, public: &[&str]) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let is_public = public.iter().any(|p| *p == key || *p == path);
                if !is_public && is_secret_name(key) && holds_text(item) {
                    *item = Value::String(REDACTED.to_owned());
                } else {
                    walk(item, &path, public);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| walk(item, path, public)),
        Value::String(text) => {
            if text.contains("://") {
                *text = urls(text);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn holds_text(value: &Value) -> bool {
    match value {
        Value::String(_) => true,
        Value::Array(items) => items.iter().any(holds_text),
        Value::Object(map) => map.values().any(holds_text),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn redact(args: &[&str]) -> Vec<String> {
        arguments(args.iter().map(|s| s.to_string()))
    }

    /// Each row: a command line, what must be gone from it, what must stay.
    #[test]
    fn command_lines() {
        let rows: &[(&[&str], &[&str], &[&str])] = &[
            (&["--api-key=abc"], &["abc"], &["--api-key=<redacted>"]),
            (&["--token", "xyz"], &["xyz"], &["--token"]),
            (&["--token", "-s3cr3t"], &["-s3cr3t"], &["--token"]),
            (&["--pass", "x1"], &["x1"], &["--pass"]),
            (&["--db-pass", "x2"], &["x2"], &["--db-pass"]),
            (&["-p", "x3"], &["x3"], &["-p"]),
            (&["--user", "bob:pw4"], &["pw4"], &["bob:<redacted>"]),
            (&["-u", "bob:pw5"], &["pw5"], &["bob:<redacted>"]),
            (&["--user=bob:pw6"], &["pw6"], &["--user=bob:<redacted>"]),
            (
                &["-H", "Authorization: Bearer x7"],
                &["x7", "Bearer"],
                &["-H", "Authorization: <redacted>"],
            ),
            (
                &["--header=X-Api-Key: x8"],
                &["x8"],
                &["--header=X-Api-Key: <redacted>"],
            ),
            (&["--bearer", "x9"], &["x9"], &[]),
            (&["--cookie", "session=x10"], &["x10"], &[]),
            (&["--authToken", "x11"], &["x11"], &[]),
            (
                &["WANDB_API_KEY=x12"],
                &["x12"],
                &["WANDB_API_KEY=<redacted>"],
            ),
            (&["db_password=x13"], &["x13"], &[]),
            (
                &["https://bob:hun/ter@mlflow.example/x"],
                &["bob", "hun", "ter"],
                &["https://<redacted>@mlflow.example/x"],
            ),
            (
                &["--uri=https://bob:p@ss@host/a@b"],
                &["bob", "p@ss"],
                &["--uri=https://<redacted>@host/a@b"],
            ),
            (
                &["postgres://u:a/b@c@db:5432/x"],
                &["a/b", "u:"],
                &["postgres://<redacted>@db:5432/x"],
            ),
            (&["https://ghp_x14@github.com/o/r"], &["x14"], &[]),
            (&["--password", "--epochs", "3"], &[], &["--epochs", "3"]),
            (
                &[
                    "--max-tokens",
                    "512",
                    "--tokenizer",
                    "gpt2",
                    "--keyboard",
                    "us",
                ],
                &[],
                &["512", "gpt2", "us"],
            ),
            (&["--num-keys", "4", "--author", "ann"], &[], &["4", "ann"]),
            (
                &["https://host:8080/a@b", "http://host/x@y"],
                &[],
                &["https://host:8080/a@b", "http://host/x@y"],
            ),
            (&["python", "-u", "train.py"], &[], &["train.py"]),
        ];
        for (args, gone, kept) in rows {
            let out = redact(args);
            assert_eq!(out.len(), args.len(), "{args:?} → {out:?}");
            let joined = out.join(" ");
            for secret in *gone {
                assert!(!joined.contains(secret), "{secret} in {joined}");
            }
            for word in *kept {
                assert!(out.iter().any(|a| a == word), "{word} lost from {out:?}");
            }
        }
    }

    #[test]
    fn credentials_never_reach_the_command_line_record() {
        let out = redact(&[
            "train",
            "--lr",
            "0.1",
            "--api-key=abc",
            "--token",
            "xyz",
            "WANDB_API_KEY=k",
            "--uri",
            "https://bob:hunter2@mlflow.example/x",
            "--password",
            "--epochs",
            "3",
        ]);
        let joined = out.join(" ");
        for secret in ["abc", "xyz", "WANDB_API_KEY=k", "hunter2", "bob"] {
            assert!(!joined.contains(secret), "{secret} in {joined}");
        }
        assert!(
            joined.contains("--lr 0.1") && joined.contains("--epochs 3"),
            "{joined}"
        );
    }

    #[test]
    fn names_are_compared_word_by_word() {
        for secret in [
            "api_key",
            "apiKey",
            "APIKey",
            "WANDB_API_KEY",
            "token",
            "hf-token",
            "authToken",
            "password",
            "db.passwd",
            "secret",
            "client_secret",
            "credential",
            "credentials",
            "auth",
            "private_key",
            "train/api_key",
            "dbpassword",
        ] {
            assert!(is_secret_name(secret), "{secret} looks public");
        }
        for public in [
            "max_tokens",
            "tokenizer",
            "keyboard",
            "num_keys",
            "author",
            "authority",
            "passes",
            "lr",
            "monkey",
        ] {
            assert!(!is_secret_name(public), "{public} looks secret");
        }
    }

    #[test]
    fn config_keys_are_redacted_at_any_depth() {
        let mut value = json!({
            "api_key": "k1",
            "token_budget": 1000,
            "max_tokens": 512,
            "tokenizer": "gpt2",
            "author": "ann",
            "db": {"password": "p2", "url": "postgres://u:p3@host/db", "port": 5432},
            "auth": {"user": "bob", "secret": "p4"},
            "tokens": ["a", "b"],
            "keys": [{"passwd": "p5"}],
            "eos_token": "</s>",
            "hf_token": null,
        });
        config(&mut value, &["eos_token"]);
        let text = value.to_string();
        for secret in ["k1", "p2", "p3", "p4", "p5", "bob"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(value["token_budget"], 1000);
        assert_eq!(value["tokenizer"], "gpt2");
        assert_eq!(value["author"], "ann");
        assert_eq!(value["eos_token"], "</s>");
        assert_eq!(value["hf_token"], Value::Null);
        assert_eq!(value["db"]["url"], "postgres://<redacted>@host/db");
        assert_eq!(value["tokens"], json!(["a", "b"]));
    }

    #[test]
    fn public_matches_a_key_or_its_dotted_path() {
        let mut value = json!({"a": {"token": "t1"}, "b": {"token": "t2"}});
        config(&mut value, &["b.token"]);
        assert_eq!(
            value,
            json!({"a": {"token": REDACTED}, "b": {"token": "t2"}})
        );
    }

    #[test]
    fn params_named_like_secrets_lose_their_text() {
        assert_eq!(param("hf_token", json!("hf_x")), json!(REDACTED));
        assert_eq!(param("token_budget", json!(10)), json!(10));
        assert_eq!(
            param("db", json!({"password": "x"})),
            json!({"password": REDACTED})
        );
    }

    #[cfg(unix)]
    #[test]
    fn arguments_that_are_not_utf8_are_kept_lossily() {
        use std::os::unix::ffi::OsStringExt;
        let out = command_line([
            OsString::from("train"),
            OsString::from_vec(b"caf\xe9".to_vec()),
        ]);
        assert_eq!(out, ["train", "caf\u{FFFD}"]);
    }
}
