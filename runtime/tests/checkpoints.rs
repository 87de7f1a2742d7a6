//! Checkpoints and resume under faults: two ranks resumed together, two checkpoint sites
//! in one experiment, a checkpoint file cut short, links planted in a run directory, and
//! SIGKILL landing in the middle of checkpoint writes. Every check reads the run back with
//! labbook's own readers. Children are this test binary re-run on `child` with
//! `LABBOOK_TEST_CHILD` set.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use labbook::prelude::*;
use support::{info, steps, store};

/// Four epochs of five batches on every rank; `crash_in` panics in that epoch after its
/// third batch. The model is the list of epochs it has seen.
#[experiment(name = "ranks", ranks = all, resume = resume)]
fn on_every_rank(resume: Option<u64>, crash_in: Option<u32>) {
    let rank = run().rank();
    let mut model: Vec<u32> = Vec::new();
    let first = run()
        .restore(&mut model)
        .unwrap()
        .map_or(0, |epoch| epoch as u32 + 1);
    assert_eq!(
        model,
        (0..first).collect::<Vec<_>>(),
        "rank {rank}'s own model"
    );
    for epoch in first..4 {
        for batch in 0..5u32 {
            #[log(metric)]
            let loss = f64::from(epoch * 5 + batch) + f64::from(rank) / 10.0;
            if crash_in == Some(epoch) && batch == 2 {
                run().flush().unwrap();
                panic!("crashed in epoch {epoch}");
            }
        }
        model.push(epoch);
        #[log(checkpoint, keep = 2, step = epoch)]
        &model;
    }
    #[log(text, name = "summary")]
    format!("{model:?}");
}

/// The same on every rank, but the checkpoint is saved by rank 0 only, as in most
/// data-parallel programs (every rank holds the same model).
#[experiment(name = "rank-zero-saves", resume = resume)]
fn rank_zero_saves(resume: Option<u64>, crash_in: Option<u32>) {
    let rank = run().rank();
    let mut model: Vec<u32> = Vec::new();
    let first = run()
        .restore(&mut model)
        .unwrap()
        .map_or(0, |epoch| epoch as u32 + 1);
    assert_eq!(
        model,
        (0..first).collect::<Vec<_>>(),
        "rank 0's model on rank {rank}"
    );
    for epoch in first..4 {
        for batch in 0..5u32 {
            #[log(metric, ranks = all)]
            let loss = f64::from(epoch * 5 + batch) + f64::from(rank) / 10.0;
            if crash_in == Some(epoch) && batch == 2 {
                run().flush().unwrap();
                panic!("crashed in epoch {epoch}");
            }
        }
        model.push(epoch);
        #[log(checkpoint, step = epoch)]
        &model;
    }
}

/// The values of a scalar stream, in file order.
fn values(path: &Path) -> Vec<(u64, f64)> {
    let stream = labbook::store::jsonl::read_scalars(path).unwrap();
    assert!(stream.warning.is_none(), "{:?}", stream.warning);
    stream.points.iter().map(|p| (p.step, p.value)).collect()
}

/// Launches the two ranks of one job running `kind`, and waits for both.
fn two_ranks(store: &Path, kind: &str, job: &str, resume: Option<u64>) -> Vec<bool> {
    let children: Vec<Child> = (0..2)
        .map(|rank| {
            let mut command = child_command(kind, store);
            command
                .env("RANK", rank.to_string())
                .env("WORLD_SIZE", "2")
                .env("LABBOOK_RUN_ID", job);
            if let Some(id) = resume {
                command.env("RESUME_ID", id.to_string());
            }
            command.spawn().unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|mut child| child.wait().unwrap().success())
        .collect()
}

#[test]
fn two_ranks_each_resume_from_their_own_checkpoint() {
    let store = tempfile::tempdir().unwrap();
    let crashed = two_ranks(store.path(), "ranks-crash", "job-a", None);
    assert_eq!(crashed, [false, false], "both ranks crashed in epoch 2");
    let dir = store.path().join("ranks/1");
    let resumed = two_ranks(store.path(), "ranks-resume", "job-b", Some(1));
    assert_eq!(resumed, [true, true], "both ranks resumed and finished");
    for rank in 0..2u32 {
        let suffix = if rank == 0 {
            String::new()
        } else {
            format!(".rank{rank}")
        };
        let expected: Vec<(u64, f64)> = (0..20u32)
            .map(|i| (u64::from(i), f64::from(i) + f64::from(rank) / 10.0))
            .collect();
        assert_eq!(
            values(&dir.join(format!("metrics/loss{suffix}.jsonl"))),
            expected,
            "rank {rank}: every step exactly once, its own values"
        );
        let summary =
            labbook::store::jsonl::read_texts(&dir.join(format!("text/summary{suffix}.jsonl")))
                .unwrap()
                .points;
        assert_eq!(summary, [(0, "[0, 1, 2, 3]".to_owned())], "rank {rank}");
        let mut kept: Vec<String> = std::fs::read_dir(dir.join("checkpoints/model"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| {
                let own = name.contains(".rank1.");
                if rank == 0 {
                    !own
                } else {
                    own
                }
            })
            .collect();
        kept.sort();
        let files = |stem: &str| {
            [
                format!("{stem}{suffix}.json"),
                format!("{stem}{suffix}.meta.json"),
            ]
        };
        let mut expected = vec![format!("last{suffix}.json")];
        expected.extend(files("step-0000000002"));
        expected.extend(files("step-0000000003"));
        assert_eq!(kept, expected, "rank {rank} keeps its own newest 2");
    }
    assert_eq!(info(&dir).status, labbook::Status::Complete);
}

#[test]
fn a_rank_without_checkpoints_of_its_own_keeps_its_streams() {
    let store = tempfile::tempdir().unwrap();
    let crashed = two_ranks(store.path(), "zero-crash", "job-c", None);
    assert_eq!(crashed, [false, false]);
    let resumed = two_ranks(store.path(), "zero-resume", "job-d", Some(1));
    assert_eq!(resumed, [true, true], "rank 1 loaded rank 0's model");
    let dir = store.path().join("rank-zero-saves/1");
    assert_eq!(
        values(&dir.join("metrics/loss.jsonl")),
        (0..20u32)
            .map(|i| (u64::from(i), f64::from(i)))
            .collect::<Vec<_>>(),
        "rank 0 rolled back exactly"
    );
    // Rank 1 recorded no stream lengths, so its stream is kept whole: the points it logged
    // after rank 0's checkpoint (steps 10 to 12) come twice, none is missing.
    let rank1: Vec<u64> = values(&dir.join("metrics/loss.rank1.jsonl"))
        .iter()
        .map(|(step, _)| *step)
        .collect();
    let expected: Vec<u64> = (0..13).chain(10..20).collect();
    assert_eq!(rank1, expected);
}

/// Two checkpoint sites, the model kept once and the optimizer three times; `crash` panics
/// in epoch 2 between the model's checkpoint and the optimizer's.
#[experiment(name = "two-sites", resume = resume)]
fn two_sites(resume: Option<u64>, crash: bool) -> PathBuf {
    let mut model: Vec<u32> = Vec::new();
    let mut optimizer: Vec<u32> = Vec::new();
    if resume.is_some() {
        let both = run().restore(&mut model).unwrap_err().to_string();
        assert!(
            both.contains("several sites (`model`, `optimizer`)") && both.contains("restore_named"),
            "{both}"
        );
        let missing = run().restore_named("adam", &mut model).unwrap_err();
        assert!(missing.to_string().contains("`adam`"), "{missing}");
    }
    let first = run()
        .restore_named("model", &mut model)
        .unwrap()
        .map_or(0, |epoch| epoch as u32 + 1);
    let optimizer_epoch = run().restore_named("optimizer", &mut optimizer).unwrap();
    assert_eq!(optimizer_epoch, first.checked_sub(1).map(u64::from));
    assert_eq!(model, (0..first).collect::<Vec<_>>());
    assert_eq!(optimizer, (0..first).map(|e| e * 10).collect::<Vec<_>>());
    for epoch in first..4 {
        #[log(metric, step = epoch)]
        let loss = f64::from(epoch);
        model.push(epoch);
        optimizer.push(epoch * 10);
        #[log(checkpoint, keep = 1, step = epoch)]
        &model;
        if crash && epoch == 2 {
            panic!("killed between the two checkpoints");
        }
        #[log(checkpoint, keep = 3, step = epoch)]
        &optimizer;
    }
    run().dir().unwrap().to_owned()
}

fn listing(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn two_checkpoint_sites_keep_their_own_files_and_resume_from_the_same_moment() {
    store();
    assert!(std::panic::catch_unwind(|| two_sites(None, true)).is_err());
    let dir = support::runs("two-sites").pop().unwrap();
    // Epoch 2 saved the model but not the optimizer. The model's epoch-1 checkpoint is
    // kept beyond `keep = 1` while the newest complete moment (epoch 1) needs it.
    assert_eq!(
        listing(&dir.join("checkpoints/model")),
        [
            "last.json",
            "step-0000000001.json",
            "step-0000000001.meta.json",
            "step-0000000002.json",
            "step-0000000002.meta.json"
        ]
    );
    assert_eq!(
        listing(&dir.join("checkpoints/optimizer")),
        [
            "last.json",
            "step-0000000000.json",
            "step-0000000000.meta.json",
            "step-0000000001.json",
            "step-0000000001.meta.json"
        ]
    );
    let id = dir.file_name().unwrap().to_str().unwrap().parse().unwrap();
    assert_eq!(two_sites(Some(id), false), dir);
    assert_eq!(
        steps(&dir, "loss"),
        [0, 1, 2, 3],
        "no step twice, none missing"
    );
    assert_eq!(
        listing(&dir.join("checkpoints/model")),
        [
            "last.json",
            "step-0000000003.json",
            "step-0000000003.meta.json"
        ],
        "keep = 1 for the model"
    );
    assert_eq!(
        listing(&dir.join("checkpoints/optimizer")).len(),
        7,
        "keep = 3"
    );
    let last: Vec<u32> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("checkpoints/model/last.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(last, [0, 1, 2, 3]);
    let info = info(&dir);
    assert_eq!(
        (info.status, info.resumed_from_step),
        (labbook::Status::Complete, Some(1))
    );
}

/// Saves `vec![step; SIZE]` at every step from where it resumed up to `until` (exclusive;
/// `None`: forever). A resumed run checks the model it got back matches its step.
#[experiment(name = "killed", resume = resume)]
fn killed(resume: Option<u64>, extra: Option<u64>, crash_after: Option<u64>) {
    const SIZE: usize = 400_000;
    let mut model: Vec<u64> = Vec::new();
    let first = match run().restore(&mut model).unwrap() {
        Some(step) => {
            assert!(
                model.len() == SIZE && model.iter().all(|&v| v == step),
                "the checkpoint of step {step} holds another step's model"
            );
            #[log(text, name = "restored")]
            step.to_string();
            step + 1
        }
        None => 0,
    };
    let until = extra.map_or(u64::MAX, |extra| first + extra);
    for step in first..until {
        #[log(metric, step = step)]
        let loss = step as f64;
        let model = vec![step; SIZE];
        #[log(checkpoint, keep = 2, step = step)]
        &model;
        if crash_after == Some(step) {
            panic!(
                "stopped after step {step} in {}",
                run().dir().unwrap().display()
            );
        }
    }
}

#[test]
fn a_torn_checkpoint_is_skipped_for_the_one_before_it_and_counted() {
    store();
    let dir = killed_after(2);
    let newest = dir.join("checkpoints/model/step-0000000002.json");
    let length = std::fs::metadata(&newest).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&newest)
        .unwrap()
        .set_len(length / 2)
        .unwrap();
    resume_killed(&dir, 2);
    let restored = labbook::store::jsonl::read_texts(&dir.join("text/restored.jsonl"))
        .unwrap()
        .points;
    assert_eq!(restored, [(0, "1".to_owned())], "step 2 was cut short");
    assert_eq!(steps(&dir, "loss"), [0, 1, 2, 3]);
    let info = support::json(&dir.join("metadata/info.json"));
    let problem = &info["problems"]["sites"]["checkpoint model"];
    assert_eq!(problem["lost"], 1, "{info:#}");
    assert!(
        problem["error"]
            .as_str()
            .is_some_and(|e| e.contains("step-0000000002.json does not match its sidecar")),
        "{problem}"
    );
}

#[test]
fn a_torn_last_file_is_never_loaded() {
    store();
    let dir = killed_after(2);
    // A copy of the newest checkpoint cut short, as an in-place copy killed midway leaves.
    let last = dir.join("checkpoints/model/last.json");
    let whole = std::fs::read(&last).unwrap();
    std::fs::remove_file(&last).unwrap();
    std::fs::write(&last, &whole[..whole.len() / 3]).unwrap();
    resume_killed(&dir, 1);
    let restored = labbook::store::jsonl::read_texts(&dir.join("text/restored.jsonl"))
        .unwrap()
        .points;
    assert_eq!(restored, [(0, "2".to_owned())], "step 2 itself is whole");
    assert_eq!(steps(&dir, "loss"), [0, 1, 2, 3]);
    let info = support::json(&dir.join("metadata/info.json"));
    assert!(
        info.get("problems")
            .is_none_or(|p| p.get("sites").is_none()),
        "{info:#}"
    );
    let last: Vec<u64> = serde_json::from_slice(&std::fs::read(&last).unwrap()).unwrap();
    assert!(
        last.iter().all(|&v| v == 3),
        "last is the newest checkpoint again"
    );
}

#[test]
fn a_run_none_of_whose_checkpoints_verifies_is_refused_with_a_clear_error() {
    store();
    let dir = killed_after(1);
    for step in 0..2 {
        let file = dir.join(format!("checkpoints/model/step-{step:010}.json"));
        std::fs::write(&file, b"[1, 2").unwrap();
    }
    let payload = std::panic::catch_unwind(|| resume_killed(&dir, 1)).unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("none of its 2 checkpoint(s) can be resumed from")
            && message.contains("step-0000000001.json does not match its sidecar")
            && message.contains("start a new run instead"),
        "{message}"
    );
}

/// A checkpoint JSON cannot hold: a map whose keys are not strings.
#[experiment(name = "unsaveable")]
fn unsaveable() -> PathBuf {
    let mut pairs = std::collections::BTreeMap::new();
    pairs.insert((1, 2), 3);
    #[log(checkpoint)]
    &pairs;
    run().dir().unwrap().to_owned()
}

#[test]
fn a_checkpoint_that_cannot_be_saved_is_counted_in_the_run_problems() {
    store();
    let dir = unsaveable();
    let info = support::json(&dir.join("metadata/info.json"));
    let problem = &info["problems"]["sites"]["checkpoint pairs"];
    assert_eq!(problem["lost"], 1, "{info:#}");
    assert!(
        problem["error"].as_str().is_some_and(
            |e| e.starts_with("step 0 was not saved: ") && e.contains("key must be a string")
        ),
        "{problem}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.join("checkpoints/pairs"))
        .unwrap()
        .collect();
    assert!(
        left.is_empty(),
        "no half-written file is left behind: {left:?}"
    );
}

/// Runs `killed` in-process until it stops after `step`; returns its run directory.
fn killed_after(step: u64) -> PathBuf {
    let payload = std::panic::catch_unwind(|| killed(None, None, Some(step))).unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    PathBuf::from(message.split_once(" in ").unwrap().1)
}

/// Resumes run `dir` of `killed` in-process for `extra` more steps.
fn resume_killed(dir: &Path, extra: u64) {
    let id = dir.file_name().unwrap().to_str().unwrap().parse().unwrap();
    killed(Some(id), Some(extra), None);
}

#[test]
fn resuming_never_follows_a_link_out_of_the_run() {
    store();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("victim.jsonl"), "precious\n").unwrap();
    std::fs::write(outside.path().join("target.jsonl"), "also precious\n").unwrap();
    let dir = killed_after(1);
    std::os::unix::fs::symlink(outside.path(), dir.join("metrics/linked")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("target.jsonl"),
        dir.join("metrics/alias.jsonl"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.join("checkpoints/elsewhere")).unwrap();
    resume_killed(&dir, 1);
    assert_eq!(
        std::fs::read_to_string(outside.path().join("victim.jsonl")).unwrap(),
        "precious\n"
    );
    assert_eq!(
        std::fs::read_to_string(outside.path().join("target.jsonl")).unwrap(),
        "also precious\n"
    );
    assert_eq!(steps(&dir, "loss"), [0, 1, 2]);
}

/// The body of every child process.
#[test]
fn child() {
    let id = std::env::var("RESUME_ID").ok().and_then(|v| v.parse().ok());
    match std::env::var("LABBOOK_TEST_CHILD").as_deref() {
        Ok("ranks-crash") => on_every_rank(None, Some(2)),
        Ok("ranks-resume") => on_every_rank(id, None),
        Ok("zero-crash") => rank_zero_saves(None, Some(2)),
        Ok("zero-resume") => rank_zero_saves(id, None),
        Ok("killed") => killed(None, None, None),
        Ok("killed-resume") => killed(id, Some(2), None),
        _ => {}
    }
}

/// A child process of this binary, its panics (the crashes these tests cause) kept quiet.
fn child_command(kind: &str, dir: &Path) -> Command {
    let mut command = support::child_command(kind, dir);
    command.stderr(Stdio::null());
    command
}

/// Whether a kill left a checkpoint half-written: a temporary file in `checkpoints/`.
fn temporary_files(dir: &Path) -> usize {
    let mut found = 0;
    let mut pending = vec![dir.join("checkpoints")];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            } else if entry.file_name().to_string_lossy().contains(".tmp") {
                found += 1;
            }
        }
    }
    found
}

#[test]
fn a_kill_during_a_checkpoint_write_always_resumes_a_consistent_checkpoint() {
    const KILLS: u64 = 20;
    let started = Instant::now();
    let mut mid_write = 0;
    for kill in 0..KILLS {
        let store = tempfile::tempdir().unwrap();
        let dir = store.path().join("killed/1");
        let mut first = child_command("killed", store.path()).spawn().unwrap();
        // Checkpoint 0 is saved once step 1's point is on disk.
        let waiting = Instant::now();
        while !std::fs::read_to_string(dir.join("metrics/loss.jsonl"))
            .is_ok_and(|s| s.contains("\"step\":1,"))
        {
            assert!(waiting.elapsed() < Duration::from_secs(60), "no checkpoint");
            std::thread::sleep(Duration::from_millis(2));
        }
        if kill % 2 == 0 {
            // Half the kills wait for a checkpoint file under way, then land a few
            // milliseconds into it, whatever the machine's speed.
            while temporary_files(&dir) == 0 {
                assert!(waiting.elapsed() < Duration::from_secs(60), "no checkpoint");
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_millis(kill % 10 * 2));
        } else {
            std::thread::sleep(Duration::from_millis(kill * 7));
        }
        first.kill().unwrap();
        first.wait().unwrap();
        mid_write += usize::from(temporary_files(&dir) > 0);
        let status = child_command("killed-resume", store.path())
            .env("RESUME_ID", "1")
            .status()
            .unwrap();
        assert!(status.success(), "kill {kill}: the resumed run failed");
        let restored = labbook::store::jsonl::read_texts(&dir.join("text/restored.jsonl"))
            .unwrap()
            .points;
        assert_eq!(restored.len(), 1, "kill {kill}");
        let step: u64 = restored[0].1.parse().unwrap();
        assert_eq!(
            steps(&dir, "loss"),
            (0..step + 3).collect::<Vec<_>>(),
            "kill {kill}: every step exactly once"
        );
        assert_eq!(
            temporary_files(&dir),
            0,
            "kill {kill}: temporary files removed"
        );
        assert_eq!(info(&dir).status, labbook::Status::Complete);
    }
    eprintln!(
        "{KILLS} kills, {mid_write} in the middle of a checkpoint write, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(mid_write > 0, "no kill landed in a checkpoint write");
}
