//! Names of logged values, checked at run time with the rules the macros apply to literals.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use crate::error::Error;

/// The longest name every backend accepts.
pub const MAX_NAME_LEN: usize = 250;

/// A name of a logged stream (`loss`, `train/loss`): letters, digits, `_`, `-`, `.`, ` `
/// and `/` between non-empty groups, at most 250 characters, so it is a safe relative path
/// in the run store and a valid key in every backend.
#[derive(Clone)]
pub struct Name(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Name {
    /// Checks `name` and keeps a shared copy.
    pub fn new(name: &str) -> Result<Name, Error> {
        check(name)?;
        Ok(Name(Repr::Shared(name.into())))
    }

    /// A name from a `#[log]` site, already checked by the macro.
    pub(crate) const fn from_site(name: &'static str) -> Name {
        Name(Repr::Static(name))
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Shared(s) => s,
        }
    }
}

/// Why `name` cannot be used as a stream name.
pub fn check(name: &str) -> Result<(), Error> {
    let invalid = |reason: String| {
        Err(Error::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return invalid("names cannot be empty".into());
    }
    if name.chars().count() > MAX_NAME_LEN {
        return invalid(format!("names are at most {MAX_NAME_LEN} characters"));
    }
    if let Some(c) = name.chars().find(|c| !is_allowed(*c)) {
        return invalid(format!(
            "names may hold letters, digits, `_`, `-`, `.`, ` ` and `/`, not {c:?}"
        ));
    }
    if name
        .split('/')
        .any(|group| group.is_empty() || group == "." || group == "..")
    {
        return invalid(
            "groups between `/` cannot be empty, `.` or `..`; write `train/loss`".into(),
        );
    }
    if is_rank_suffixed(name) {
        return invalid("the suffix `.rankN` is reserved for per-rank files".into());
    }
    Ok(())
}

fn is_allowed(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '/')
}

fn is_rank_suffixed(name: &str) -> bool {
    name.rsplit_once(".rank")
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

// A name from a site and the same name given at run time are the same stream.
impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl std::hash::Hash for Name {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_names_are_paths_inside_the_run() {
        for ok in ["loss", "train/loss", "test acc", "größe", "lr-0.1"] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../x",
            "/abs",
            "a//b",
            "a/.",
            "nul\0",
            "line\nbreak",
            "x.rank1",
        ] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
        assert!(check(&"x".repeat(251)).is_err());
    }

    #[test]
    fn a_site_name_and_a_runtime_name_are_one_stream() {
        use std::collections::HashSet;
        let site = Name::from_site("loss");
        let runtime = Name::new("loss").unwrap();
        assert_eq!(site, runtime);
        assert_eq!(HashSet::from([site, runtime]).len(), 1);
    }
}
