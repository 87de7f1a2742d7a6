//! The run's own tags, notes and group on its MLflow run, kept up to date by the live
//! mirror (after `run().tag`, `run().note`, and at the end) and by `labbook sync` (after
//! `labbook tag` / `labbook note`):
//!
//! - each tag is an MLflow run tag of the same key (a bare tag has the value `""`);
//! - the notes are `mlflow.note.content`, the run's description in MLflow's UI;
//! - the group is the tag `labbook.group`, and the run is nested under the group's parent
//!   run (`mlflow.parentRunId`): one MLflow run per group and experiment, named after the
//!   group and tagged `labbook.group_parent`, found by that tag or created (FINISHED, at the
//!   first member's start) by the first member that needs it.
//!
//! The run name (`mlflow.runName`) stays `experiment/id`. A tag removed since the last
//! upload is deleted on the server. A tag MLflow refuses (a key with characters outside its
//! rules) is counted in the run's problems, like a refused param, and the others are sent;
//! a value longer than MLflow's 8000 characters is cut.

use std::collections::BTreeMap;

use super::engine::{Done, Engine};
use super::{local, MlflowError};
use crate::store::meta::RunTags;

/// The tag that marks a group's parent run, with the group as its value.
const PARENT_TAG: &str = "labbook.group_parent";
/// The tag that holds a member's group.
const GROUP_TAG: &str = "labbook.group";
/// MLflow's run description.
const NOTE_TAG: &str = "mlflow.note.content";
/// MLflow's nesting of runs.
const PARENT_RUN_TAG: &str = "mlflow.parentRunId";

/// What a refused tag is in the state file and in messages: `tag <key>`.
const TAG: &str = "tag";

/// The MLflow tags of a run's tags, notes and group (the parent run apart).
fn tags_of(run: &RunTags) -> BTreeMap<String, String> {
    let mut tags = run.tags.clone();
    if let Some(notes) = &run.notes {
        tags.insert(NOTE_TAG.to_owned(), notes.clone());
    }
    if let Some(group) = &run.group {
        tags.insert(GROUP_TAG.to_owned(), group.clone());
    }
    for value in tags.values_mut() {
        if value.chars().count() > local::MAX_TAG_LEN {
            *value = value.chars().take(local::MAX_TAG_LEN).collect();
        }
    }
    tags
}

impl Engine {
    /// Sends the tags, notes and group that `info.json` has now and the server lacks, and
    /// deletes the tags the run no longer has.
    pub(super) fn tags(&mut self, done: &mut Done) -> Result<(), MlflowError> {
        let run = self
            .run
            .run_dir()
            .info()
            .unwrap_or_else(|_| self.run.info.clone());
        let run = RunTags::of(&run);
        let mut wanted = tags_of(&run);
        wanted.retain(|key, _| !self.is_rejected(TAG, key));
        let refused: Vec<(String, String)> = (wanted.keys())
            .filter_map(|key| local::check_key(key).err().map(|why| (key.clone(), why)))
            .collect();
        for (key, why) in refused {
            wanted.remove(&key);
            self.reject(TAG, key, why, done);
        }
        if let Some(group) = &run.group {
            let parent = match &self.state.parent {
                Some((known, id)) if known == group => id.clone(),
                _ => self.parent_run(group)?,
            };
            self.state.parent = Some((group.clone(), parent.clone()));
            wanted.insert(PARENT_RUN_TAG.to_owned(), parent);
        }
        let run_id = self
            .state
            .run_id
            .clone()
            .expect("the run exists once ensure_run returned");
        let changed: Vec<(String, String)> = wanted
            .iter()
            .filter(|(key, value)| self.state.tags.get(*key) != Some(*value))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        // MLflow takes at most 100 tags in one log-batch request.
        for changed in changed.chunks(100) {
            match self.client.set_tags(&run_id, changed) {
                Ok(()) => {}
                // One bad tag spoils its batch: find it by sending them one by one.
                Err(e) if e.is_rejection() => {
                    for tag in changed {
                        match self.client.set_tags(&run_id, std::slice::from_ref(tag)) {
                            Ok(()) => {}
                            Err(e) if e.is_rejection() => {
                                wanted.remove(&tag.0);
                                self.reject(TAG, tag.0.clone(), e.reason(), done);
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let removed: Vec<String> = (self.state.tags.keys())
            .filter(|key| !wanted.contains_key(*key))
            .cloned()
            .collect();
        for key in removed {
            self.client.delete_tag(&run_id, &key)?;
            self.state.tags.remove(&key);
        }
        self.state.tags = wanted;
        self.tags_due = false;
        self.save()
    }

    /// The id of `group`'s parent run in the run's experiment: found by its tag, or created.
    fn parent_run(&mut self, group: &str) -> Result<String, MlflowError> {
        let experiment_id = match &self.state.experiment_id {
            Some(id) => id.clone(),
            None => self.client.experiment_id(&self.experiment)?,
        };
        let found = self.client.find_runs(&experiment_id, PARENT_TAG, group)?;
        if let Some(parent) = found.into_iter().min_by_key(|run| run.start_time) {
            return Ok(parent.run_id);
        }
        let start = self.run.start_ms();
        let tags = [(PARENT_TAG.to_owned(), group.to_owned())];
        let parent = self
            .client
            .create_run(&experiment_id, group, start, &tags)?;
        self.client
            .update_run(&parent.run_id, "FINISHED", Some(start))?;
        Ok(parent.run_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_and_group_become_mlflow_s_tags() {
        let mut run = RunTags::default();
        run.add("baseline").unwrap();
        run.add("optimizer=adam").unwrap();
        run.set_notes("first try");
        run.set_group(Some("lr-sweep")).unwrap();
        let tags: Vec<_> = tags_of(&run).into_iter().collect();
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            tags,
            [
                pair("baseline", ""),
                pair("labbook.group", "lr-sweep"),
                pair("mlflow.note.content", "first try"),
                pair("optimizer", "adam"),
            ]
        );
    }
}
