//! Names of logged values, checked at run time with the rules the macros apply to literals.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use crate::error::Error;

/// The longest name every backend accepts, in characters.
pub const MAX_NAME_LEN: usize = rules::MAX_LEN;

/// A name of a logged stream (`loss`, `train/loss`): letters, digits, `_`, `-`, `.`, ` `
/// and `/` between non-empty groups, at most 250 characters and 234 bytes of UTF-8 a group,
/// so it is a safe relative path in the run store and a valid key in every backend.
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

    /// The name as text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Shared(s) => s,
        }
    }
}

/// The rules themselves, shared with the macros.
#[path = "../../macros/src/name.rs"]
mod rules;

/// Why `name` cannot be used (a stream name, a run's group), opening with `what`.
pub(crate) fn problem(name: &str, what: &str) -> Option<String> {
    rules::problem(name, what)
}

/// Why `name` cannot be used as a stream name.
pub fn check(name: &str) -> Result<(), Error> {
    match rules::problem(name, "the name") {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidName {
            name: name.to_owned(),
            reason,
        }),
    }
}

// A name from a site and the same name given at run time are the same stream.
impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        let (a, b) = (self.as_str(), other.as_str());
        // The same site, or a clone of the same name, is the same text.
        (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
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
        // Each group is a file name: 255 bytes with the longest per-rank suffix.
        let long = check(&"x".repeat(250)).unwrap_err().to_string();
        assert!(long.contains("234 bytes"), "{long}");
        assert!(check(&"ö".repeat(128)).is_err());
        assert!(check(&"x".repeat(234)).is_ok());
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
