//! A run's tags, group and notes, read back through `labbook::store::read`: from the
//! attribute and `LABBOOK_TAGS` / `LABBOOK_GROUP` / `LABBOOK_NOTES` (in a child process, as
//! a launcher would set them), from `run().tag` / `run().note`, and an edit of `info.json`
//! made while the run goes on (`labbook tag`), which the run keeps.

mod support;

use std::path::PathBuf;

use labbook::prelude::*;
use labbook::store::read::{RunDir, Store};

#[experiment(name = "tags-env", tags = ["baseline", "optimizer=sgd"], group = "sweep")]
fn tagged() {
    #[log(metric)]
    let loss = 0.5;
}

#[experiment(name = "tags-live", tags = ["baseline"])]
fn retagged() -> labbook::Result<PathBuf> {
    let dir = run().dir().unwrap().to_owned();
    run().tag("optimizer", "adam")?;
    run().note("warm-up over 100 steps")?;
    // Durable when the call returns.
    let now = RunDir::at(&dir).info()?;
    assert_eq!(now.tags["optimizer"], "adam");
    assert_eq!(now.notes.as_deref(), Some("warm-up over 100 steps"));
    // `labbook tag` while the run goes on.
    RunDir::at(&dir).edit_tags(|tags| tags.add("reviewed=yes"))?;
    run().tag("epochs", "3")?;
    Ok(dir)
}

#[experiment(name = "tags-bad")]
fn bad_tags() -> Vec<String> {
    [
        run().tag("a=b", "c"),
        run().tag("list", "a,b"),
        run().tag("", "x"),
    ]
    .into_iter()
    .map(|r| r.unwrap_err().to_string())
    .collect()
}

/// The body of the child process.
#[test]
fn child() {
    if std::env::var("LABBOOK_TEST_CHILD").as_deref() == Ok("tagged") {
        tagged();
    }
}

#[test]
fn attribute_and_environment_tags_land_in_info_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = support::child_command("tagged", dir.path())
        .env("LABBOOK_TAGS", "optimizer=adam, seed=3,=nokey")
        .env("LABBOOK_GROUP", "lr-sweep")
        .env("LABBOOK_NOTES", "started by the sweep")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("LABBOOK_TAGS has the tag `=nokey`, which is skipped: the tag `=nokey` has no key; write tags like `baseline` or `optimizer=adam`"),
        "{stderr}"
    );
    let info = Store::open(dir.path())
        .unwrap()
        .run("tags-env", 1)
        .unwrap()
        .info()
        .unwrap();
    let tags: Vec<String> = labbook::RunTags::of(&info).joined().collect();
    assert_eq!(tags, ["baseline", "optimizer=adam", "seed=3"]);
    assert_eq!(info.group.as_deref(), Some("lr-sweep"));
    assert_eq!(info.notes.as_deref(), Some("started by the sweep"));
}

#[test]
fn tags_and_notes_given_at_run_time_and_by_an_edit_during_the_run_are_kept() {
    support::store();
    let dir = retagged().unwrap();
    let info = RunDir::at(&dir).info().unwrap();
    let tags: Vec<String> = labbook::RunTags::of(&info).joined().collect();
    assert_eq!(
        tags,
        ["baseline", "epochs=3", "optimizer=adam", "reviewed=yes"]
    );
    assert_eq!(info.notes.as_deref(), Some("warm-up over 100 steps"));
    assert_eq!(info.status, labbook::Status::Complete);
}

#[test]
fn a_bad_tag_is_an_error_that_says_why() {
    support::store();
    assert_eq!(
        bad_tags(),
        [
            "cannot tag the run: the tag key `a=b` holds `=`; give the key and the value apart",
            "cannot tag the run: the tag `list` holds ','; tags cannot hold commas or control characters",
            "cannot tag the run: the tag `=x` has no key; write tags like `baseline` or `optimizer=adam`",
        ]
    );
}
