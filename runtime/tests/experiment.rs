//! What a user sees on disk after calling an `#[experiment]` function.

mod support;

use std::path::PathBuf;

use labbook::prelude::*;
use support::{info, json, points, steps, store};

#[derive(Serialize)]
struct Hp {
    lr: f64,
    steps: usize,
}

#[experiment(name = "probe")]
fn train(#[config] hp: &Hp) -> anyhow::Result<(f64, PathBuf)> {
    let mut total = 0.0;
    for i in 0..hp.steps {
        #[log(metric, every = 10)]
        let loss = 1.0 / (i as f64 + 1.0);
        total += loss;
    }
    #[log(metric)]
    let total_loss = total;
    #[log(text, name = "note")]
    format!("finished {} steps", hp.steps);
    Ok((total, run().dir().unwrap().to_owned()))
}

#[test]
fn the_documented_example_writes_every_point_config_and_status() {
    store();
    let (total, dir) = train(&Hp {
        lr: 0.1,
        steps: 100,
    })
    .unwrap();
    assert_eq!(
        steps(&dir, "loss"),
        (0..10).map(|i| i * 10).collect::<Vec<_>>()
    );
    for point in points(&dir, "loss") {
        assert_eq!(point.value, 1.0 / (point.step as f64 + 1.0));
        assert!(point.time > 1.7e9);
    }
    let total_loss = points(&dir, "total_loss");
    assert_eq!(total_loss.len(), 1);
    assert_eq!((total_loss[0].step, total_loss[0].value), (0, total));
    assert_eq!(
        json(&dir.join("metadata/config.json")),
        serde_json::json!({"lr": 0.1, "steps": 100})
    );
    let note = labbook::store::jsonl::read_texts(&dir.join("text/note.jsonl"))
        .unwrap()
        .points;
    assert_eq!(note, [(0, "finished 100 steps".to_owned())]);
    let info = info(&dir);
    assert_eq!(info.status, labbook::Status::Complete);
    assert_eq!(
        (info.experiment.as_str(), info.function.as_str()),
        ("probe", "train")
    );
    assert!(info.duration_s.is_some() && info.backends.contains(&"local".to_owned()));
}

#[experiment]
fn panics_midway() {
    for i in 0..5u32 {
        #[log(metric)]
        let before_panic = i;
        if i == 3 {
            panic!("diverged at {i}");
        }
    }
}

#[test]
fn a_panicking_run_is_failed_with_its_points_on_disk_and_the_panic_goes_on() {
    store();
    let caught = std::panic::catch_unwind(panics_midway);
    assert!(caught.is_err(), "the panic must keep propagating");
    let dir = support::runs("panics_midway").pop().unwrap();
    assert_eq!(steps(&dir, "before_panic"), [0, 1, 2, 3]);
    let info = info(&dir);
    assert_eq!(info.status, labbook::Status::Failed);
    assert_eq!(info.error.as_deref(), Some("panicked: diverged at 3"));
}

#[experiment]
fn returns_an_error(fail: bool) -> Result<u8, std::io::Error> {
    #[log(metric)]
    let attempted = 1;
    if fail {
        return Err(std::io::Error::other("disk on fire"));
    }
    Ok(7)
}

#[test]
fn err_fails_the_run_with_the_error_text_and_ok_passes_through() {
    store();
    assert_eq!(returns_an_error(false).unwrap(), 7);
    assert_eq!(
        returns_an_error(true).unwrap_err().to_string(),
        "disk on fire"
    );
    let runs = support::runs("returns_an_error");
    assert_eq!(info(&runs[0]).status, labbook::Status::Complete);
    let failed = info(&runs[1]);
    assert_eq!(
        (failed.status, failed.error.as_deref()),
        (labbook::Status::Failed, Some("disk on fire"))
    );
}

#[experiment]
fn sites_everywhere(outer: usize) -> PathBuf {
    for i in 0..outer {
        for j in 0..3usize {
            if j == 1 {
                #[log(metric, every = 2)]
                let in_if = i * 10 + j;
            }
            match j {
                0 => continue,
                2 => {
                    #[log(metric, step = i)]
                    let in_match = j;
                }
                _ => {}
            }
        }
        {
            #[log(metric)]
            let in_block = i;
        }
        (0..2).for_each(|k| {
            #[log(metric)]
            let in_closure = k;
        });
        let log_later = move |v: usize| {
            #[log(metric)]
            let in_move_closure = v;
        };
        log_later(i);
    }
    run().dir().unwrap().to_owned()
}

#[test]
fn sites_in_loops_branches_blocks_and_closures_share_the_run_counters() {
    store();
    let dir = sites_everywhere(4);
    assert_eq!(
        points(&dir, "in_if")
            .iter()
            .map(|p| p.value)
            .collect::<Vec<_>>(),
        [1.0, 21.0]
    );
    assert_eq!(steps(&dir, "in_if"), [0, 2]);
    assert_eq!(steps(&dir, "in_match"), [0, 1, 2, 3]);
    assert_eq!(steps(&dir, "in_block"), [0, 1, 2, 3]);
    assert_eq!(steps(&dir, "in_closure"), (0..8).collect::<Vec<_>>());
    assert_eq!(steps(&dir, "in_move_closure"), [0, 1, 2, 3]);
}

#[test]
fn counters_reset_with_every_run() {
    store();
    let first = sites_everywhere(1);
    let second = sites_everywhere(1);
    assert_ne!(first, second);
    assert_eq!(steps(&second, "in_block"), [0]);
}

fn helper(step: u64) -> labbook::Result<()> {
    run().log_metric("eval/acc", step, 0.5 + step as f64 / 10.0)?;
    run().log_param("optimizer", "adam")
}

#[experiment]
fn logs_by_hand() -> (PathBuf, labbook::Run) {
    for step in 0..3 {
        helper(step).unwrap();
    }
    let err = run().log_metric("../escape", 0, 1.0).unwrap_err();
    assert!(err.to_string().contains("\"../escape\""), "{err}");
    run()
        .log_text("notes/after error", 9, "still recording")
        .unwrap();
    (run().dir().unwrap().to_owned(), run())
}

#[test]
fn manual_logging_goes_through_the_same_store_and_bad_names_lose_nothing() {
    store();
    let (dir, handle) = logs_by_hand();
    assert_eq!(steps(&dir, "eval/acc"), [0, 1, 2]);
    assert_eq!(
        json(&dir.join("params.json")),
        serde_json::json!({"optimizer": "adam"})
    );
    assert!(dir.join("text/notes/after error.jsonl").exists());
    assert!(!store().join("logs_by_hand/escape.jsonl").exists());
    let late = handle.log_metric("late", 0, 1.0).unwrap_err();
    assert!(matches!(late, labbook::Error::RunEnded(_)), "{late}");
}

#[experiment]
fn special_values() -> PathBuf {
    for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1e308] {
        #[log(metric)]
        let odd = value;
    }
    #[log(param)]
    let lr = 0.01;
    #[log(metric)]
    let count = 3u64;
    run().dir().unwrap().to_owned()
}

#[test]
fn nan_and_infinities_are_recorded_faithfully() {
    store();
    let dir = special_values();
    let values: Vec<f64> = points(&dir, "odd").iter().map(|p| p.value).collect();
    assert!(values[0].is_nan());
    assert_eq!(values[1..], [f64::INFINITY, f64::NEG_INFINITY, -0.0, 1e308]);
    assert_eq!(
        json(&dir.join("params.json")),
        serde_json::json!({"lr": 0.01})
    );
    assert_eq!(points(&dir, "count")[0].value, 3.0);
}
