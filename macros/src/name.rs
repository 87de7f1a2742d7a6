//! The rules a logged name must follow: one file, included by the macros (checking literals
//! at compile time) and by the runtime (`labbook::Name`, checking names at run time), so the
//! two can never disagree.
//!
//! Names become file names in the run store and tags or keys in every backend, so they
//! follow the strictest common rule (MLflow's): letters, digits, `_`, `-`, `.`, ` ` and `/`,
//! at most 250 characters, with `/` separating non-empty groups such as `train/loss`. Each
//! group is a file or folder name, so it must fit the 255 bytes file systems allow once the
//! longest suffix the store adds (`.rank4294967295.jsonl`) is on it: 234 bytes of UTF-8.

/// The most characters a name has (MLflow's key limit).
pub const MAX_LEN: usize = 250;
/// The most bytes of UTF-8 one `/` group has: 255 minus `.rank4294967295.jsonl`.
pub const MAX_GROUP_BYTES: usize = 255 - ".rank4294967295.jsonl".len();

/// Why `name` cannot be used, or `None` when it can. `what` opens the message, like
/// ``the `#[log]` name``.
pub fn problem(name: &str, what: &str) -> Option<String> {
    if name.is_empty() {
        return Some(format!("{what} cannot be empty"));
    }
    let len = name.chars().count();
    if len > MAX_LEN {
        return Some(format!(
            "{what} is at most {MAX_LEN} characters; this one has {len}"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '/')))
    {
        return Some(format!(
            "{what} may hold letters, digits, `_`, `-`, `.`, ` ` and `/`, not {c:?}"
        ));
    }
    for group in name.split('/') {
        if group.is_empty() || group == "." || group == ".." {
            return Some(format!(
                "{what} `{name}` has an empty, `.` or `..` group; write groups like `train/loss`"
            ));
        }
        if group.len() > MAX_GROUP_BYTES {
            return Some(format!(
                "each `/` group of {what} becomes a file name of at most {MAX_GROUP_BYTES} bytes of UTF-8; this one has {} bytes: shorten it or split it with `/`",
                group.len()
            ));
        }
    }
    if let Some((_, suffix)) = name.rsplit_once(".rank") {
        if !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()) {
            return Some(format!(
                "{what} `{name}` ends like a per-rank file (`.rankN`); choose another name"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn accepts_grouped_names() {
        for ok in ["loss", "train/loss", "test acc", "lr-0.1", "größe", "a.b.c"] {
            assert_eq!(problem(ok, "the name"), None, "{ok}");
        }
    }

    #[test]
    fn rejects_what_a_backend_would() {
        let long = "x".repeat(251);
        for bad in [
            "",
            "a\nb",
            "/abs",
            "a//b",
            "../up",
            "a/..",
            "tab\t",
            "loss.rank3",
            &long,
            &"x".repeat(235),
            &"ö".repeat(128),
        ] {
            assert!(problem(bad, "the name").is_some(), "{bad:?}");
        }
        for ok in [
            "x".repeat(234),
            format!("{}/{}", "a".repeat(200), "b".repeat(49)),
            "ö".repeat(117),
        ] {
            assert_eq!(problem(&ok, "the name"), None, "{ok}");
        }
        // Within MLflow's 250 characters, but one group longer than a file name allows.
        assert!(problem(&"x".repeat(250), "the name").is_some());
    }

    #[test]
    fn messages_open_with_what_is_named() {
        assert_eq!(
            problem("", "the `#[log]` name").as_deref(),
            Some("the `#[log]` name cannot be empty")
        );
        assert_eq!(
            problem("a//b", "the `#[experiment]` name").as_deref(),
            Some("the `#[experiment]` name `a//b` has an empty, `.` or `..` group; write groups like `train/loss`")
        );
    }
}
