//! The run's tags, group and notes in the W&B run record: each tag as one W&B tag
//! (`key=value`, or `key` for a bare tag) after those of `WANDB_TAGS`; the group and notes
//! over `WANDB_RUN_GROUP` and `WANDB_NOTES`. W&B takes tags of at most 64 characters: a
//! longer one is left out and counted in the run's problems (`info.json` keeps it). A change
//! while the run goes on (`run().tag`, `run().note`) writes the run record again, as
//! `wandb` does when a script sets `run.tags` or `run.notes`.

use super::proto::RunRecord;
use crate::store::meta::RunTags;

/// The longest tag W&B takes, in characters.
pub(super) const MAX_TAG_LEN: usize = 64;

/// Puts `run`'s tags, group and notes into `record` over those of the W&B variables
/// (`env_tags`, `env_group`, `env_notes`); returns the tags too long for W&B.
pub(super) fn apply(
    record: &mut RunRecord,
    run: &RunTags,
    env_tags: &str,
    env_group: &str,
    env_notes: &str,
) -> Vec<String> {
    let mut tags: Vec<String> = env_tags
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let mut too_long = Vec::new();
    for tag in run.joined() {
        if tag.chars().count() > MAX_TAG_LEN {
            too_long.push(tag);
        } else if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    record.tags = tags;
    record.run_group = run.group.clone().unwrap_or_else(|| env_group.to_owned());
    record.notes = run.notes.clone().unwrap_or_else(|| env_notes.to_owned());
    too_long
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labbook_s_tags_follow_wandb_s_and_long_ones_are_left_out() {
        let mut run = RunTags::default();
        run.add("baseline").unwrap();
        run.add("rust").unwrap();
        run.tag("long", &"x".repeat(60)).unwrap();
        run.set_notes("first try");
        let mut record = RunRecord::default();
        let too_long = apply(&mut record, &run, "rust, ci", "from-env", "env notes");
        assert_eq!(record.tags, ["rust", "ci", "baseline"]);
        assert_eq!(too_long, [format!("long={}", "x".repeat(60))]);
        assert_eq!(record.run_group, "from-env");
        assert_eq!(record.notes, "first try");
    }
}
