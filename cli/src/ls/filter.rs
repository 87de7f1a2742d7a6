//! Which runs `labbook ls` lists: `--status`, `--tag` and `--group`, which a run's info alone
//! answers (so a run they leave out is read no further), and `--where` conditions on its
//! metrics, config and params; and the values `--sort` orders by.

use std::cmp::Ordering;

use anyhow::{bail, Result};

use super::row::{Field, Row};
use labbook::store::meta::Info;
use labbook::store::read::State;

/// The filters a run's info answers.
#[derive(Debug, Default)]
pub(crate) struct InfoFilter {
    pub status: Option<State>,
    /// Every one must hold.
    pub tags: Vec<TagFilter>,
    pub group: Option<String>,
}

impl InfoFilter {
    pub fn admits(&self, info: &Info, state: State) -> bool {
        self.status.is_none_or(|s| state == s)
            && self
                .group
                .as_ref()
                .is_none_or(|g| info.group.as_ref() == Some(g))
            && self.tags.iter().all(|t| t.holds(info))
    }
}

pub(crate) fn parse_state(text: &str) -> Result<State, String> {
    State::ALL
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(text))
        .ok_or_else(|| "expected running, complete, failed or crashed".to_owned())
}

/// `--tag KEY` (the run has the tag, whatever its value) or `--tag KEY=VALUE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TagFilter {
    key: String,
    value: Option<String>,
}

impl TagFilter {
    pub fn parse(text: &str) -> Result<TagFilter> {
        let (key, value) = match text.split_once('=') {
            Some((key, value)) => (key.trim(), Some(value.trim().to_owned())),
            None => (text.trim(), None),
        };
        if key.is_empty() {
            bail!("`--tag {text}` needs a key: `--tag baseline` or `--tag optimizer=adam`");
        }
        Ok(TagFilter {
            key: key.to_owned(),
            value,
        })
    }

    fn holds(&self, info: &Info) -> bool {
        match (info.tags.get(&self.key), &self.value) {
            (Some(value), Some(wanted)) => value == wanted,
            (found, None) => found.is_some(),
            (None, Some(_)) => false,
        }
    }
}

/// `KEY OP VALUE` from `--where`.
#[derive(Clone, Debug)]
pub(crate) struct Condition {
    pub key: String,
    op: &'static str,
    value: String,
}

const OPERATORS: [&str; 7] = ["<=", ">=", "!=", "==", "<", ">", "="];

impl Condition {
    pub fn parse(text: &str) -> Result<Condition> {
        let found = text.char_indices().find_map(|(at, _)| {
            OPERATORS
                .iter()
                .find(|op| text[at..].starts_with(**op))
                .map(|op| (at, *op))
        });
        let Some((at, op)) = found else {
            bail!(
                "a condition is KEY, an operator (<, <=, >, >=, =, !=) and a value, like `lr<0.01`"
            );
        };
        let (key, value) = (text[..at].trim(), text[at + op.len()..].trim());
        if key.is_empty() || value.is_empty() {
            bail!("`{text}` needs a key before `{op}` and a value after it, like `lr<0.01`");
        }
        Ok(Condition {
            key: key.to_owned(),
            op,
            value: value.to_owned(),
        })
    }

    pub fn holds(&self, row: &Row) -> bool {
        let Some(field) = row.field(&self.key) else {
            return false;
        };
        let ordering = match (&field, self.value.parse::<f64>()) {
            (Field::Number(a), Ok(b)) => a.partial_cmp(&b),
            (Field::Text(a), _) if a.eq_ignore_ascii_case(&self.value) => Some(Ordering::Equal),
            (Field::Text(a), _) => Some(a.as_str().cmp(&self.value)),
            (Field::Number(_), Err(_)) => None,
        };
        let Some(ordering) = ordering else {
            return self.op == "!=";
        };
        match self.op {
            "<" => ordering.is_lt(),
            "<=" => ordering.is_le(),
            ">" => ordering.is_gt(),
            ">=" => ordering.is_ge(),
            "!=" => ordering.is_ne(),
            _ => ordering.is_eq(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_filter_is_a_key_or_a_key_and_its_value() {
        assert_eq!(
            TagFilter::parse("optimizer = adam").unwrap(),
            TagFilter {
                key: "optimizer".into(),
                value: Some("adam".into())
            }
        );
        assert_eq!(TagFilter::parse("baseline").unwrap().value, None);
        let error = TagFilter::parse("=adam").unwrap_err().to_string();
        assert!(error.contains("needs a key"), "{error}");
    }
}
