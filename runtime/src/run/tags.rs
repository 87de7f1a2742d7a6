//! A run's tags, group and notes: from `#[experiment(tags = [...], group = "...")]` and
//! `LABBOOK_TAGS` / `LABBOOK_GROUP` / `LABBOOK_NOTES` at the start, and from
//! [`Run::tag`] / [`Run::note`] while it runs. Each change is in `metadata/info.json` before
//! the call returns, and reaches the backends as a [`Value::Tags`] record.
//!
//! `labbook tag` / `labbook note` may edit `info.json` while the run goes on: the run takes
//! the tags, group and notes the file has before it writes the file again, so neither side
//! undoes the other.

use std::path::Path;
use std::sync::Arc;

use super::{info, Run, RunState};
use crate::error::Result;
use crate::options;
use crate::record::Value;
use crate::store::layout;
use crate::store::meta::{tag_problem, Info, RunTags};

/// `LABBOOK_TAGS`: comma-separated tags, each `key` or `key=value`.
const TAGS_VARIABLE: &str = "LABBOOK_TAGS";
/// `LABBOOK_GROUP`: the run's group, overriding `#[experiment(group = ...)]`.
const GROUP_VARIABLE: &str = "LABBOOK_GROUP";
/// `LABBOOK_NOTES`: the run's notes.
const NOTES_VARIABLE: &str = "LABBOOK_NOTES";

/// Fills `info`'s tags, group and notes from the attribute's `tags` and `group` (checked at
/// compile time) and then the environment, which adds tags, overrides a tag of the same
/// key and overrides the group. A bad value in the environment is skipped with a warning.
pub(super) fn gather(info: &mut Info, tags: &[&str], group: Option<&str>) {
    from_attribute(info, tags, group);
    gather_from(info, |key| std::env::var(key).ok());
}

/// The attribute's `tags` and `group`.
fn from_attribute(info: &mut Info, tags: &[&str], group: Option<&str>) {
    for tag in tags {
        let (key, value) = options::split_tag(tag);
        info.tags.insert(key.trim().to_owned(), value.to_owned());
    }
    info.group = group.map(str::to_owned);
}

/// [`gather`]'s environment part, reading variables through `var`.
fn gather_from(info: &mut Info, var: impl Fn(&str) -> Option<String>) {
    if let Some(list) = var(TAGS_VARIABLE) {
        for tag in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (key, value) = options::split_tag(tag);
            match tag_problem(key.trim(), value) {
                None => info.tags.insert(key.trim().to_owned(), value.to_owned()),
                Some(problem) => {
                    tracing::warn!(
                        "{TAGS_VARIABLE} has the tag `{tag}`, which is skipped: {problem}"
                    );
                    continue;
                }
            };
        }
    }
    if let Some(group) = var(GROUP_VARIABLE).filter(|g| !g.trim().is_empty()) {
        let group = group.trim();
        match crate::name::problem(group, "the group") {
            None => info.group = Some(group.to_owned()),
            Some(problem) => {
                tracing::warn!("{GROUP_VARIABLE} is `{group}`, which is skipped: {problem}")
            }
        }
    }
    if let Some(notes) = var(NOTES_VARIABLE).filter(|n| !n.trim().is_empty()) {
        info.notes = Some(notes.trim().to_owned());
    }
}

/// Takes into `info` the tags, group and notes that `info.json` in `dir` has now (rank 0
/// only: the file is rank 0's), so an edit by `labbook tag` during the run is kept.
pub(super) fn adopt_edits(dir: &Path, info: &mut Info) {
    if info.rank != 0 {
        return;
    }
    let on_disk = std::fs::read_to_string(layout::info_file(dir))
        .ok()
        .and_then(|text| serde_json::from_str::<Info>(&text).ok());
    if let Some(on_disk) = on_disk {
        RunTags::of(&on_disk).apply(info);
    }
}

impl RunState {
    /// Changes the run's tags, group or notes with `change`, writes `info.json` and tells the
    /// backends.
    fn retag(&self, change: impl FnOnce(&mut RunTags) -> Result<()>) -> Result<()> {
        let tags = {
            let mut info = self.info.lock().unwrap_or_else(|e| e.into_inner());
            adopt_edits(&self.dir, &mut info);
            let mut tags = RunTags::of(&info);
            change(&mut tags)?;
            tags.apply(&mut info);
            info::write_info(&self.dir, &info)?;
            tags
        };
        self.push(
            crate::name::Name::from_site("tags"),
            0,
            Value::Tags(Arc::new(tags)),
        );
        Ok(())
    }
}

impl Run {
    /// Tags the run `key=value` (an empty `value` makes a bare tag such as `baseline`),
    /// replacing the value an earlier tag of the same key had. The tag is in
    /// `metadata/info.json` when this returns, and reaches the backends: MLflow's run tags
    /// at once, the others by the end of the run. A key holding `=` or `,`, or a tag longer
    /// than the backends take, is an error that says so.
    ///
    /// Tags are the run's, not a rank's: call it on rank 0 (`info.json` is rank 0's).
    ///
    /// ```
    /// use labbook::prelude::*;
    ///
    /// #[experiment(tags = ["baseline"])]
    /// fn train() -> labbook::Result<()> {
    ///     let diverged = false;
    ///     run().tag("optimizer", "adam")?;
    ///     if diverged {
    ///         run().tag("diverged", "")?;
    ///     }
    ///     run().note("lr warm-up over the first 100 steps")
    /// }
    /// # std::env::set_var("LABBOOK_DIR", std::env::temp_dir().join("labbook-doc"));
    /// # std::env::set_var("LABBOOK_CONSOLE", "off");
    /// train().unwrap();
    /// ```
    pub fn tag(&self, key: &str, value: &str) -> Result<()> {
        self.live()?.retag(|tags| tags.tag(key, value))
    }

    /// Sets the run's notes (free text, replacing earlier notes; empty text removes them):
    /// in `metadata/info.json` when this returns, and MLflow's run description, W&B's notes,
    /// … (see [`Run::tag`]).
    pub fn note(&self, text: &str) -> Result<()> {
        self.live()?.retag(|tags| {
            tags.set_notes(text);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> Info {
        let launch = crate::launcher::detect();
        Info::gather("tags", 1, "train", "src/main.rs", &launch, 0.0)
    }

    #[test]
    fn the_environment_adds_tags_and_overrides_the_group() {
        let mut info = info();
        from_attribute(&mut info, &["baseline", "optimizer=sgd"], Some("sweep"));
        gather_from(&mut info, |key| match key {
            "LABBOOK_TAGS" => Some(" optimizer=adam, seed=3 ,,=bad,a\u{7}b".into()),
            "LABBOOK_GROUP" => Some("sweep-2".into()),
            "LABBOOK_NOTES" => Some("first try".into()),
            _ => None,
        });
        let tags: Vec<_> = RunTags::of(&info).joined().collect();
        assert_eq!(tags, ["baseline", "optimizer=adam", "seed=3"]);
        assert_eq!(info.group.as_deref(), Some("sweep-2"));
        assert_eq!(info.notes.as_deref(), Some("first try"));
    }

    #[test]
    fn a_bad_group_in_the_environment_keeps_the_attribute_s() {
        let mut info = info();
        from_attribute(&mut info, &[], Some("sweep"));
        gather_from(&mut info, |key| {
            (key == "LABBOOK_GROUP").then(|| "a//b".into())
        });
        assert_eq!(info.group.as_deref(), Some("sweep"));
    }

    #[test]
    fn a_key_with_an_equals_sign_or_a_comma_is_refused() {
        let mut tags = RunTags::default();
        let error = tags.tag("a=b", "c").unwrap_err().to_string();
        assert!(error.contains("holds `=`"), "{error}");
        let error = tags.tag("opt", "a,b").unwrap_err().to_string();
        assert!(error.contains("commas"), "{error}");
        tags.tag("optimizer", "adam").unwrap();
        assert_eq!(tags.joined().collect::<Vec<_>>(), ["optimizer=adam"]);
    }
}
