//! `labbook tag RUN key=value… [--remove key…]`, `labbook group RUN NAME` and
//! `labbook note RUN "…"`: change a finished or running run's tags, group and notes in its
//! `metadata/info.json`, replacing the file whole so a reader never sees half of it
//! ([`labbook::store::read::RunDir::edit_tags`]).

use std::io::Write;

use anyhow::{bail, Result};

use super::store;
use labbook::store::read::Store;
use labbook::RunTags;

#[derive(Debug, clap::Args)]
pub(crate) struct TagArgs {
    /// `experiment/id`, `experiment` (its latest run) or a run directory.
    run: String,
    /// Tags to add, each `key` or `key=value`; a key the run has gets the new value.
    #[arg(value_name = "TAG")]
    tags: Vec<String>,
    /// A tag key to remove (repeatable).
    #[arg(long, value_name = "KEY")]
    remove: Vec<String>,
    /// Puts the run in this group (`--group ""` takes it out of its group).
    #[arg(long, value_name = "NAME")]
    group: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct NoteArgs {
    /// `experiment/id`, `experiment` (its latest run) or a run directory.
    run: String,
    /// The run's notes, replacing what it had (`""` removes them).
    text: String,
}

pub(crate) fn tag(store: &Store, args: &TagArgs, out: &mut dyn Write) -> Result<()> {
    if args.tags.is_empty() && args.remove.is_empty() && args.group.is_none() {
        bail!("say what to change: `labbook tag RUN key=value`, `--remove key` or `--group NAME`");
    }
    let run = store::resolve(store, &args.run)?;
    let mut missing = Vec::new();
    let tags = run.edit_tags(|tags| {
        for key in &args.remove {
            if tags.tags.remove(key.trim()).is_none() {
                missing.push(key.clone());
            }
        }
        for tag in &args.tags {
            tags.add(tag)?;
        }
        if let Some(group) = &args.group {
            tags.set_group(Some(group))?;
        }
        Ok(())
    })?;
    for key in missing {
        super::warn(format_args!("{} has no tag `{key}`", run.label()));
    }
    print(run.label(), &tags, out)
}

pub(crate) fn note(store: &Store, args: &NoteArgs, out: &mut dyn Write) -> Result<()> {
    let run = store::resolve(store, &args.run)?;
    let tags = run.edit_tags(|tags| {
        tags.set_notes(&args.text);
        Ok(())
    })?;
    print(run.label(), &tags, out)
}

/// `mnist/3: tags baseline, optimizer=adam; group lr-sweep; notes …`
fn print(label: &str, tags: &RunTags, out: &mut dyn Write) -> Result<()> {
    let joined: Vec<String> = tags.joined().collect();
    let mut parts = vec![if joined.is_empty() {
        "no tags".to_owned()
    } else {
        format!("tags {}", joined.join(", "))
    }];
    if let Some(group) = &tags.group {
        parts.push(format!("group {group}"));
    }
    if let Some(notes) = &tags.notes {
        parts.push(format!("notes {notes:?}"));
    }
    writeln!(out, "{label}: {}", parts.join("; "))?;
    Ok(())
}
