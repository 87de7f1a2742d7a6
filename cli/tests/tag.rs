//! `labbook tag`, `labbook note`, the tags `show` prints and `compare --group-by`, on stores
//! these tests write; what the commands change is read back with labbook's own reader.

#[path = "cli/fixture.rs"]
#[allow(dead_code)]
mod fixture;

use fixture::{Fixture, RunSpec};
use labbook::store::read::Store;
use serde_json::{json, Value};

fn info_json(f: &Fixture, experiment: &str, id: u64) -> Value {
    let path = f.run_dir(experiment, id).join("metadata/info.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn tag_and_note_change_a_finished_run_and_nothing_else() {
    let f = Fixture::new();
    f.run(RunSpec::new("mnist", 1, "COMPLETE").config(json!({"lr": 0.1})));
    let before = info_json(&f, "mnist", 1);

    let out = f.labbook(&[
        "tag",
        "mnist/1",
        "baseline",
        "optimizer=adam",
        "--group",
        "lr-sweep",
    ]);
    assert_eq!(
        out.ok(),
        "mnist/1: tags baseline, optimizer=adam; group lr-sweep\n"
    );
    f.labbook(&["tag", "mnist/1", "optimizer=sgd", "--remove", "baseline"])
        .ok();
    let out = f.labbook(&["note", "mnist", "diverged after the lr bump"]);
    assert_eq!(
        out.ok(),
        "mnist/1: tags optimizer=sgd; group lr-sweep; notes \"diverged after the lr bump\"\n"
    );

    let run = Store::open(f.root()).unwrap().run("mnist", 1).unwrap();
    let info = run.info().unwrap();
    assert_eq!(
        labbook::RunTags::of(&info).joined().collect::<Vec<_>>(),
        ["optimizer=sgd"]
    );
    assert_eq!(info.group.as_deref(), Some("lr-sweep"));
    assert_eq!(info.notes.as_deref(), Some("diverged after the lr bump"));
    // Every other field is as it was, and no temporary file is left behind.
    let mut after = info_json(&f, "mnist", 1);
    let after = after.as_object_mut().unwrap();
    for key in ["tags", "group", "notes"] {
        after.remove(key);
    }
    assert_eq!(&Value::Object(after.clone()), &before);
    let mut files: Vec<_> = std::fs::read_dir(f.run_dir("mnist", 1).join("metadata"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["config.json", "info.json"]);

    let show = f.labbook(&["show", "mnist/1"]).ok();
    assert!(
        show.contains("\ntags       optimizer=sgd\ngroup      lr-sweep\nnotes      diverged after the lr bump\n"),
        "{show}"
    );
}

#[test]
fn a_bad_tag_or_an_unknown_key_is_said_in_one_sentence() {
    let f = Fixture::new();
    f.run(RunSpec::new("mnist", 1, "COMPLETE"));
    let before = info_json(&f, "mnist", 1);
    assert_eq!(
        f.labbook(&["tag", "mnist/1", "ok", "=x"]).error(),
        "error: cannot tag the run: the tag `=x` has no key; write tags like `baseline` or `optimizer=adam`"
    );
    assert_eq!(
        f.labbook(&["tag", "mnist/1", "--group", "a//b"]).error(),
        "error: cannot tag the run: the group `a//b` has an empty, `.` or `..` group; write groups like `train/loss`"
    );
    // Nothing was written.
    assert_eq!(info_json(&f, "mnist", 1), before);
    assert_eq!(
        f.labbook(&["tag", "mnist/1"]).error(),
        "error: say what to change: `labbook tag RUN key=value`, `--remove key` or `--group NAME`"
    );
    let out = f.labbook(&["tag", "mnist/1", "--remove", "nothing"]);
    out.ok();
    assert!(out
        .stderr()
        .contains("warning: mnist/1 has no tag `nothing`"));
}

#[test]
fn compare_groups_runs_by_a_tag_or_their_group() {
    let f = Fixture::new();
    for (id, optimizer, loss) in [(1, "adam", 0.2), (2, "adam", 0.4), (3, "sgd", 0.9)] {
        let dir = f.run(RunSpec::new("mnist", id, "COMPLETE"));
        f.metric(&dir, "loss", &[(0, 2.0), (10, loss)]);
        f.labbook(&[
            "tag",
            &format!("mnist/{id}"),
            &format!("optimizer={optimizer}"),
        ])
        .ok();
    }
    f.labbook(&["tag", "mnist/3", "--group", "sweep"]).ok();
    let out = f
        .labbook(&["compare", "--group-by", "tag:optimizer", "mnist"])
        .ok();
    let rows: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["tag", "optimizer", "adam", "sgd"], "{out}");
    assert_eq!(rows[1], ["runs", "2", "1"], "{out}");
    assert_eq!(rows[3], ["loss", "0.3", "*", "0.9"], "{out}");
    let out = f.labbook(&["compare", "--group-by", "group"]).ok();
    assert!(
        out.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .eq(["group", "-", "sweep"]),
        "{out}"
    );
    let bad = f.labbook(&["compare", "--group-by", "optimizer"]);
    assert_eq!(bad.0.status.code(), Some(2));
    assert!(
        bad.stderr().contains("write `group` or `tag:KEY`"),
        "{}",
        bad.stderr()
    );
}
