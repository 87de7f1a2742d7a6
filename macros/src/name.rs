//! The rules a logged name must follow, checked at compile time for literals.
//!
//! Names become file names in the run store and tags or keys in every backend, so they
//! follow the strictest common rule (MLflow's): letters, digits, `_`, `-`, `.`, ` ` and `/`,
//! at most 250 characters, with `/` separating non-empty groups such as `train/loss`.
//! `labbook::Name` applies the same rules at run time.

pub const MAX_LEN: usize = 250;

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
        ] {
            assert!(problem(bad, "the name").is_some(), "{bad:?}");
        }
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
