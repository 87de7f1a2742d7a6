//! `#[log(checkpoint, keep = N, best = "metric", mode = max | min)]` keeps the right steps on a
//! known metric sequence, `best.<ext>` holds the best step's bytes, `run().restore_best`
//! loads it, and an `EarlyStop` decision is in `info.json` read back by labbook's reader.

mod support;

use labbook::prelude::*;
use labbook::store::read::{RunDir, Store};
use labbook::{EarlyStop, Mode};

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct Model {
    epoch: u64,
    weights: Vec<f64>,
}

/// One epoch's model.
fn model(epoch: u64) -> Model {
    Model {
        epoch,
        weights: vec![epoch as f64; 3],
    }
}

#[experiment(name = "best-max")]
fn keep_the_most_accurate(accuracy: &[f64]) -> labbook::Result<(Model, Option<u64>)> {
    for (epoch, &value) in accuracy.iter().enumerate() {
        let epoch = epoch as u64;
        #[log(metric, step = epoch)]
        let test_acc = value;
        #[log(checkpoint, name = "model", keep = 2, best = "test_acc", mode = max, step = epoch)]
        &model(epoch);
    }
    let mut best = Model::default();
    let step = run().restore_best(&mut best)?;
    Ok((best, step))
}

#[experiment(name = "best-min")]
fn keep_the_lowest_loss(loss: &[f64]) {
    for (epoch, &value) in loss.iter().enumerate() {
        let epoch = epoch as u64;
        #[log(checkpoint, name = "model", best = "test_loss", mode = min, step = epoch)]
        &model(epoch);
        // Logged after the checkpoint: each checkpoint is judged by the epoch before it.
        #[log(metric, step = epoch)]
        let test_loss = value;
    }
}

/// The steps of the checkpoints a site kept, read back through the run's files.
fn kept(run: &RunDir) -> Vec<String> {
    run.files("checkpoints/model")
        .iter()
        .map(|f| {
            f.relative()
                .trim_start_matches("checkpoints/model/")
                .to_owned()
        })
        .filter(|name| !name.ends_with(".meta.json"))
        .collect()
}

fn latest(experiment: &str) -> RunDir {
    support::store();
    let store = Store::from_env().unwrap();
    store.experiment(experiment).unwrap().pop().unwrap()
}

#[test]
fn the_best_by_a_metric_are_kept_with_the_newest_and_best_holds_the_best() {
    support::store();
    let accuracy = [0.5, 0.7, 0.6, 0.9, 0.8, 0.85, 0.4];
    let (restored, step) = keep_the_most_accurate(&accuracy).unwrap();
    assert_eq!((restored, step), (model(3), Some(3)));

    let run = latest("best-max");
    assert_eq!(
        kept(&run),
        [
            "best.json",
            "last.json",
            "step-0000000003.json",
            "step-0000000005.json",
            "step-0000000006.json",
        ],
        "the 2 most accurate (epochs 3 and 5) and the newest (6)"
    );
    let folder = run.path().join("checkpoints/model");
    assert_eq!(
        std::fs::read(folder.join("best.json")).unwrap(),
        std::fs::read(folder.join("step-0000000003.json")).unwrap()
    );
    let sidecar = support::json(&folder.join("best.meta.json"));
    assert_eq!(sidecar["step"], 3);
    assert_eq!(
        sidecar["best"],
        serde_json::json!({"metric": "test_acc", "mode": "max", "value": 0.9})
    );
}

#[test]
fn a_tie_keeps_the_earlier_and_a_checkpoint_before_the_metric_ranks_last() {
    support::store();
    // Checkpoint e sees the loss of epoch e - 1: none, 0.5, 0.3, 0.3, 0.4.
    keep_the_lowest_loss(&[0.5, 0.3, 0.3, 0.4, 0.6]);
    let run = latest("best-min");
    assert_eq!(
        kept(&run),
        [
            "best.json",
            "last.json",
            "step-0000000002.json",
            "step-0000000004.json",
        ]
    );
    let sidecar = support::json(&run.path().join("checkpoints/model/best.meta.json"));
    assert_eq!(
        (sidecar["step"].as_u64(), sidecar["best"]["value"].as_f64()),
        (Some(2), Some(0.3))
    );
}

#[experiment(name = "early-stop")]
fn train_until_plateau(accuracy: &[f64]) -> u64 {
    let mut stop = EarlyStop::new("test_acc", Mode::Max)
        .patience(2)
        .min_delta(0.01);
    for (epoch, &value) in accuracy.iter().enumerate() {
        let epoch = epoch as u64;
        #[log(metric, step = epoch)]
        let test_acc = value;
        if stop.update(epoch, test_acc) {
            return epoch;
        }
    }
    accuracy.len() as u64
}

#[test]
fn an_early_stop_is_recorded_in_the_run() {
    support::store();
    assert_eq!(train_until_plateau(&[0.5, 0.8, 0.805, 0.79, 0.9]), 3);
    let info = latest("early-stop").info().unwrap();
    let stopped = info.stopped_early.expect("the decision is recorded");
    assert_eq!(
        (
            stopped.step,
            stopped.metric.as_str(),
            stopped.best,
            stopped.best_step
        ),
        (3, "test_acc", 0.8, 1)
    );
    assert_eq!(
        stopped.reason,
        "`test_acc` did not improve on its max of 0.8 (step 1) by more than 0.01 in 2 evaluations"
    );
    assert_eq!(info.status, labbook::Status::Complete);
}

#[experiment(name = "best-resume", resume = resume)]
fn resumable(resume: Option<u64>, accuracy: &[f64]) -> labbook::Result<Option<u64>> {
    if resume.is_some() {
        return run().restore_best(&mut Model::default());
    }
    for (epoch, &value) in accuracy.iter().enumerate() {
        let epoch = epoch as u64;
        #[log(metric, step = epoch)]
        let test_acc = value;
        #[log(checkpoint, name = "model", keep = 3, best = "test_acc", mode = max, step = epoch)]
        &model(epoch);
    }
    Ok(None)
}

#[test]
fn a_resume_that_drops_the_best_points_best_at_the_best_left() {
    support::store();
    resumable(None, &[0.5, 0.9, 0.7, 0.95]).unwrap();
    let run = latest("best-resume");
    let folder = run.path().join("checkpoints/model");
    assert_eq!(support::json(&folder.join("best.meta.json"))["step"], 3);
    // The best (and newest) checkpoint cut short: the run resumes from epoch 2 and drops it.
    let newest = folder.join("step-0000000003.json");
    let bytes = std::fs::read(&newest).unwrap();
    std::fs::write(&newest, &bytes[..bytes.len() / 2]).unwrap();
    let id = run.label().rsplit('/').next().unwrap().parse().unwrap();
    assert_eq!(resumable(Some(id), &[]).unwrap(), Some(1));
    assert_eq!(
        std::fs::read(folder.join("best.json")).unwrap(),
        std::fs::read(folder.join("step-0000000001.json")).unwrap()
    );
}
