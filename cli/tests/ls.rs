//! `labbook ls` filters (`--tag`, `--group`, `--status`, `--where`) on a small store, its
//! group and tag columns, and the summary of the last points a finished run writes at its
//! end: read when it holds for that end, ignored when it is stale or missing, and never in
//! the way of a crashed run.
//!
//! Real runs are this test binary re-run on `child` with `LABBOOK_TEST_CHILD` set.

#[allow(dead_code)]
#[path = "cli/fixture.rs"]
mod fixture;
mod support;

use std::path::Path;

use fixture::{Fixture, RunSpec};
use labbook::prelude::*;
use labbook::store::read::RunDir;
use serde_json::{json, Value};

/// Gives the run in `dir` these tags and this group, as `labbook tag` would.
fn tag(dir: &Path, tags: Value, group: Option<&str>) {
    let path = dir.join("metadata/info.json");
    let mut info = support::json(&path);
    info["tags"] = tags;
    if let Some(group) = group {
        info["group"] = json!(group);
    }
    fixture::write_json(&path, &info);
}

/// `a/1..4` and `b/1..2`, tagged and grouped; `b/2` crashed.
fn tagged() -> Fixture {
    let f = Fixture::new();
    let runs = [
        (
            "a",
            1,
            "COMPLETE",
            json!({"baseline": "", "optimizer": "adam"}),
            Some("sweep-1"),
        ),
        (
            "a",
            2,
            "FAILED",
            json!({"optimizer": "sgd"}),
            Some("sweep-1"),
        ),
        (
            "a",
            3,
            "COMPLETE",
            json!({"optimizer": "adam", "lr": "0.1"}),
            Some("sweep-2"),
        ),
        ("a", 4, "COMPLETE", json!({}), None),
        (
            "b",
            1,
            "COMPLETE",
            json!({"optimizer": "adam"}),
            Some("sweep-1"),
        ),
    ];
    for (experiment, id, status, tags, group) in runs {
        let dir = f.run(RunSpec::new(experiment, id, status).config(json!({"lr": id})));
        f.metric(&dir, "loss", &[(0, 1.0), (10, 0.1 * id as f64)]);
        tag(&dir, tags, group);
    }
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    let crashed = f.run(RunSpec::new("b", 2, "RUNNING").host(&fixture::this_host(), gone_pid));
    tag(&crashed, json!({"baseline": ""}), None);
    f
}

/// The runs `labbook ls ARGS --json` lists.
fn listed(f: &Fixture, args: &[&str]) -> Vec<String> {
    let out = f.labbook(&[&["ls", "--json"], args].concat()).ok();
    let runs: Value = serde_json::from_str(&out).unwrap();
    let runs = runs.as_array().unwrap();
    runs.iter()
        .map(|r| r["run"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn tag_group_and_status_filters_list_exactly_the_runs_they_name() {
    let f = tagged();
    assert_eq!(
        listed(&f, &["--tag", "optimizer=adam"]),
        ["a/1", "a/3", "b/1"]
    );
    assert_eq!(listed(&f, &["--tag", "baseline"]), ["a/1", "b/2"]);
    assert_eq!(
        listed(&f, &["--tag", "optimizer"]),
        ["a/1", "a/2", "a/3", "b/1"]
    );
    assert_eq!(
        listed(&f, &["--tag", "optimizer=adam", "--tag", "baseline"]),
        ["a/1"],
        "every tag must hold"
    );
    assert_eq!(
        listed(&f, &["--tag", "optimizer=Adam"]),
        Vec::<String>::new()
    );
    assert_eq!(listed(&f, &["--group", "sweep-1"]), ["a/1", "a/2", "b/1"]);
    assert_eq!(
        listed(&f, &["a", "--group", "sweep-1", "--status", "failed"]),
        ["a/2"]
    );
    assert_eq!(
        listed(&f, &["--status", "crashed", "--tag", "baseline"]),
        ["b/2"]
    );
    assert_eq!(
        listed(&f, &["--tag", "optimizer=adam", "--where", "loss>0.2"]),
        ["a/3"]
    );
    assert_eq!(
        listed(&f, &["--sort", "group", "--desc", "--tag", "optimizer"]),
        ["a/3", "a/1", "a/2", "b/1"]
    );
    assert_eq!(f.labbook(&["ls", "--tag", "nothing"]).ok(), "no runs\n");
    let bad = f.labbook(&["ls", "--tag", "=adam"]);
    assert_eq!(bad.0.status.code(), Some(2));
    assert!(bad.stderr().contains("needs a key"), "{}", bad.stderr());
}

/// The cell of `column` in each row of a table: its columns are left-aligned text here.
fn column<'a>(table: &'a str, name: &str) -> Vec<&'a str> {
    let at = table.lines().next().unwrap().find(name).unwrap();
    table
        .lines()
        .skip(1)
        .map(|line| line[at..].split("  ").next().unwrap())
        .collect()
}

#[test]
fn group_and_tags_are_columns_when_a_listed_run_has_them() {
    let f = tagged();
    let out = f.labbook(&["ls", "a", "--status", "complete"]).ok();
    assert_eq!(column(&out, "RUN"), ["a/1", "a/3", "a/4"], "{out}");
    assert_eq!(column(&out, "GROUP"), ["sweep-1", "sweep-2", "-"], "{out}");
    assert_eq!(
        column(&out, "TAGS"),
        ["baseline,optimizer=adam", "lr=0.1,optimizer=adam", "-"],
        "{out}"
    );
    let header = out.lines().next().unwrap();
    assert!(header.find("HOST") < header.find("GROUP"), "{out}");

    let plain = f.labbook(&["ls", "--where", "id=4"]).ok();
    assert_eq!(column(&plain, "RUN"), ["a/4"], "{plain}");
    assert!(
        !plain.contains("GROUP") && !plain.contains("TAGS"),
        "{plain}"
    );

    let json: Value = serde_json::from_str(&f.labbook(&["ls", "a", "--json"]).ok()).unwrap();
    assert_eq!(json[0]["group"], "sweep-1");
    assert_eq!(
        json[0]["tags"],
        json!({"baseline": "", "optimizer": "adam"})
    );
    assert_eq!(json[3]["group"], Value::Null);
}

// ---------------------------------------------------------------------------------------
// The summary of a finished run

#[derive(Serialize)]
struct Hp {
    lr: f64,
}

#[experiment(name = "summarised")]
fn finishes(#[config] _hp: &Hp) {
    for step in 0..100u64 {
        #[log(metric, every = 10)]
        let loss = 1.0 / (1.0 + step as f64);
        #[log(metric, name = "train/acc", every = 25)]
        let acc = step as f64 / 100.0;
    }
}

#[experiment(name = "crashes")]
fn crashes() {
    for step in 0..50u64 {
        #[log(metric)]
        let loss = 1.0 / (1.0 + step as f64);
    }
    run().flush().unwrap();
    // Killed as by the out-of-memory killer: no end, no summary.
    std::process::abort();
}

#[test]
fn child() {
    match std::env::var("LABBOOK_TEST_CHILD").as_deref() {
        Ok("finishes") => finishes(&Hp { lr: 0.25 }),
        Ok("crashes") => crashes(),
        _ => {} // not a child
    }
}

/// Runs `kind` in a child process on the fixture's store; whether it exited successfully.
fn run_child(f: &Fixture, kind: &str) -> bool {
    support::child_command(kind, &f.root())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// The last point of `metric` that `labbook ls --json` lists for the only run of `experiment`.
fn listed_last(f: &Fixture, experiment: &str, metric: &str) -> Value {
    let out = f.labbook(&["ls", experiment, "--json"]).ok();
    let runs: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1, "{out}");
    runs[0]["metrics"][metric].clone()
}

#[test]
fn a_finished_run_is_listed_from_its_summary_unless_the_summary_is_stale_or_missing() {
    let f = Fixture::new();
    assert!(run_child(&f, "finishes"));
    let dir = f.run_dir("summarised", 1);
    let path = dir.join("metadata/summary.json");
    let summary = support::json(&path);
    let info = support::info(&dir);
    assert_eq!(summary["end_unix"].as_f64(), info.end_unix);
    let streams = RunDir::at(&dir);
    for (key, metric) in [("loss", "loss"), ("train/acc", "train/acc")] {
        let last = streams.metric(metric).unwrap().last().copied().unwrap();
        assert_eq!(summary["metrics"][key]["step"], last.step, "{summary}");
        assert_eq!(summary["metrics"][key]["value"], last.value, "{summary}");
        assert_eq!(listed_last(&f, "summarised", key)["value"], last.value);
    }
    let loss = streams.metric("loss").unwrap().last().copied().unwrap();
    assert_eq!(loss.step, 90);

    // The summary holds for the run's end, so it is what `ls` reads (a changed value shows).
    let mut changed = summary.clone();
    changed["metrics"]["loss"]["value"] = json!(42.0);
    fixture::write_json(&path, &changed);
    assert_eq!(listed_last(&f, "summarised", "loss")["value"], 42.0);

    // Written for an earlier end (the run was resumed and ended again since): stale.
    changed["end_unix"] = json!(info.end_unix.unwrap() - 60.0);
    fixture::write_json(&path, &changed);
    assert_eq!(listed_last(&f, "summarised", "loss")["value"], loss.value);

    // Torn, or missing: the streams.
    let text = serde_json::to_string(&summary).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    assert_eq!(listed_last(&f, "summarised", "loss")["value"], loss.value);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(listed_last(&f, "summarised", "loss")["step"], 90);
    assert_eq!(listed_last(&f, "summarised", "loss")["value"], loss.value);
}

/// The config that `labbook ls --json` lists for the only run of `experiment`.
fn listed_config(f: &Fixture, experiment: &str) -> Value {
    let out = f.labbook(&["ls", experiment, "--json"]).ok();
    serde_json::from_str::<Value>(&out).unwrap()[0]["config"].clone()
}

#[test]
fn a_finished_runs_config_is_listed_from_its_summary_or_from_config_json_for_an_older_one() {
    let f = Fixture::new();
    assert!(run_child(&f, "finishes"));
    let dir = f.run_dir("summarised", 1);
    let config = dir.join("metadata/config.json");
    let path = dir.join("metadata/summary.json");
    let mut summary = support::json(&path);
    assert_eq!(summary["config"], support::json(&config), "{summary}");
    assert_eq!(listed_config(&f, "summarised"), json!({"lr": 0.25}));

    // The summary's copy is what `ls` reads: the run's folder is two files to it.
    std::fs::remove_file(&config).unwrap();
    assert_eq!(listed_config(&f, "summarised"), json!({"lr": 0.25}));

    // A summary an older labbook wrote has no config: `ls` reads config.json, and still the
    // summary's points.
    fixture::write_json(&config, &json!({"lr": 0.5}));
    summary.as_object_mut().unwrap().remove("config");
    summary["metrics"]["loss"]["value"] = json!(42.0);
    fixture::write_json(&path, &summary);
    assert_eq!(listed_config(&f, "summarised"), json!({"lr": 0.5}));
    assert_eq!(listed_last(&f, "summarised", "loss")["value"], 42.0);

    // A run without a config records that in its summary: nothing to read.
    summary["config"] = Value::Null;
    fixture::write_json(&path, &summary);
    assert_eq!(listed_config(&f, "summarised"), Value::Null);
}

#[cfg(target_os = "linux")]
#[test]
fn a_crashed_run_is_listed_from_its_streams_whatever_summary_it_has() {
    let f = Fixture::new();
    assert!(!run_child(&f, "crashes"), "the child aborts");
    let dir = f.run_dir("crashes", 1);
    assert!(!dir.join("metadata/summary.json").exists());
    let out = f.labbook(&["ls", "crashes"]).ok();
    assert!(out.contains("crashes/1  CRASHED"), "{out}");
    assert_eq!(listed_last(&f, "crashes", "loss")["step"], 49);

    // A summary left from an earlier end of the run (before a resume that crashed) is
    // ignored, and so is a torn last line of its stream.
    let info = support::info(&dir);
    let planted = json!({"rank": 0, "end_unix": info.start_unix + 1.0,
        "metrics": {"loss": {"step": 999, "value": 42.0, "time": info.start_unix + 1.0}}});
    fixture::write_json(&dir.join("metadata/summary.json"), &planted);
    let stream = dir.join("metrics/loss.jsonl");
    let mut text = std::fs::read_to_string(&stream).unwrap();
    text.push_str(r#"{"step":50,"va"#);
    std::fs::write(&stream, text).unwrap();
    let out = f.labbook(&["ls", "crashes", "--json"]);
    let runs: Value = serde_json::from_str(&out.ok()).unwrap();
    assert_eq!(runs[0]["status"], "CRASHED");
    assert_eq!(runs[0]["metrics"]["loss"]["step"], 49);
    let last_time = runs[0]["metrics"]["loss"]["time"].as_f64().unwrap();
    assert_eq!(
        runs[0]["duration_s"].as_f64(),
        Some(last_time - info.start_unix),
        "a crashed run lasted until its last point"
    );
    assert!(
        out.stderr().contains("skipped a torn last line"),
        "{}",
        out.stderr()
    );
}
